// Layer norm over the trailing dims, forward and backward. The forward saves only the per-row mean
// and 1/std (as llm.c); the backward recomputes x̂ from them.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "tensor/backend.hpp"
#include "tensor/cpu/float_compute.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/ops/nn_kernels.hpp"

namespace cj::ops {

namespace {

// Rows of x: x viewed as (R, D) with D = prod(normalized_shape). Checks the shapes against x.
int64_t normalized_size(const Tensor& x, const Shape& normalized_shape, const char* op) {
  const int64_t k = int64_t(normalized_shape.size());
  CJ_CHECK(k >= 1 && x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape, op,
           ": normalized_shape ", normalized_shape, " must be a non-empty suffix of the input shape ", x.shape());
  return shape_numel(normalized_shape);
}

void check_param(const std::optional<Tensor>& p, const Tensor& x, const Shape& normalized_shape, const char* op,
                 const char* arg) {
  if (!p) return;
  cpu::check_float_cpu(*p, op, arg);
  CJ_CHECK(p->shape() == normalized_shape, op, ": ", arg, " has shape ", p->shape(), ", expected normalized_shape ",
           normalized_shape);
  CJ_CHECK(p->dtype() == x.dtype(), op, ": ", arg, " is ", dtype_name(p->dtype()), " but the input is ",
           dtype_name(x.dtype()));
}

// The 8 lanes of a lane-parallel sum, combined in a fixed order.
inline double lanes_total(const double (&lane)[8]) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// sum over i of f(double(v[i])) in 8 double lanes, so that the loop vectorises (a serial double
// sum is one long dependency chain); the lanes change only the last bits of the double result.
template <typename T, typename F>
double row_sum_f64(const T* v, int64_t n, F f) {
  double lane[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int64_t j = 0; j < 8; ++j) lane[j] += f(double(v[i + j]));
  for (; i < n; ++i) lane[0] += f(double(v[i]));
  return lanes_total(lane);
}

Shape row_shape(const Tensor& x, const Shape& normalized_shape) {  // x.shape without the normalized dims
  return Shape(x.shape().begin(), x.shape().end() - int64_t(normalized_shape.size()));
}

}  // namespace

// x: (..., *normalized_shape) -> out like x; mean, rstd: (...)
LayerNormOut layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                        const std::optional<Tensor>& bias, double eps) {
  CJ_FORWARD_TO_DEVICE(LayerNormOut(const Tensor&, const Shape&, const std::optional<Tensor>&, const std::optional<Tensor>&, double), "layer_norm", x, x, normalized_shape, weight, bias, eps);
  cpu::check_float_cpu(x, "layer_norm", "input");
  const int64_t D = normalized_size(x, normalized_shape, "layer_norm");
  check_param(weight, x, normalized_shape, "layer_norm", "weight");
  check_param(bias, x, normalized_shape, "layer_norm", "bias");
  const int64_t R = D == 0 ? 0 : x.numel() / D;
  const DType cdt = cpu::compute_dtype(x.dtype());
  Tensor xc = cpu::contiguous_compute(x, x.dtype());
  Tensor out = Tensor::empty(x.shape(), cdt), mean = Tensor::empty(row_shape(x, normalized_shape), cdt),
         rstd = Tensor::empty(row_shape(x, normalized_shape), cdt);
  cpu::dispatch_compute(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor wc = weight ? cpu::contiguous_compute(*weight, x.dtype()) : Tensor();
    Tensor bc = bias ? cpu::contiguous_compute(*bias, x.dtype()) : Tensor();
    const T* xp = xc.data<T>();
    const T* wp = weight ? wc.data<T>() : nullptr;
    const T* bp = bias ? bc.data<T>() : nullptr;
    T *op = out.data<T>(), *mp = mean.data<T>(), *rp = rstd.data<T>();
    cpu::parallel_for(R, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = xp + r * D;
        // Two passes in double: the variance stays exact even when |mean| >> std.
        const double mu = row_sum_f64(row, D, [](double v) { return v; }) / double(D);
        const double sq = row_sum_f64(row, D, [mu](double v) { return (v - mu) * (v - mu); });
        const double inv_std = 1.0 / std::sqrt(sq / double(D) + eps);
        mp[r] = T(mu);
        rp[r] = T(inv_std);
        // x - mean in double: rounding the mean to f32 first would cost |mean|/std ulps. One loop
        // per affine case, so that each vectorises.
        T* o = op + r * D;
        if (wp && bp) {
          for (int64_t i = 0; i < D; ++i) o[i] = T((row[i] - mu) * inv_std) * wp[i] + bp[i];
        } else if (wp) {
          for (int64_t i = 0; i < D; ++i) o[i] = T((row[i] - mu) * inv_std) * wp[i];
        } else if (bp) {
          for (int64_t i = 0; i < D; ++i) o[i] = T((row[i] - mu) * inv_std) + bp[i];
        } else {
          for (int64_t i = 0; i < D; ++i) o[i] = T((row[i] - mu) * inv_std);
        }
      }
    });
  });
  return {to(out, x.dtype()), mean, rstd};
}

// gy, x: (..., *normalized_shape); mean, rstd: (...) from layer_norm.
//   x̂ = (x - mean) * rstd, g = gy * weight
//   gx = rstd * (g - mean(g) - x̂ * mean(g * x̂)),  gweight = Σ_rows gy * x̂,  gbias = Σ_rows gy
LayerNormGrads layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                   const Shape& normalized_shape, const std::optional<Tensor>& weight,
                                   bool has_bias) {
  CJ_FORWARD_TO_DEVICE(LayerNormGrads(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Shape&, const std::optional<Tensor>&, bool), "layer_norm_backward", gy, gy, x, mean, rstd, normalized_shape, weight, has_bias);
  const char* op = "layer_norm_backward";
  cpu::check_float_cpu(x, op, "input");
  cpu::check_float_cpu(gy, op, "grad_output");
  CJ_CHECK(gy.shape() == x.shape(), op, ": grad_output ", gy.shape(), " does not match the input ", x.shape());
  const int64_t D = normalized_size(x, normalized_shape, op);
  check_param(weight, x, normalized_shape, op, "weight");
  const int64_t R = D == 0 ? 0 : x.numel() / D;
  CJ_CHECK(mean.numel() == R && rstd.numel() == R, op, ": mean ", mean.shape(), " / rstd ", rstd.shape(),
           " do not hold one value per row (", R, " rows)");
  const DType cdt = cpu::compute_dtype(x.dtype());
  Tensor xc = cpu::contiguous_compute(x, x.dtype()), gyc = cpu::contiguous_compute(gy, x.dtype());
  Tensor mc = cpu::contiguous_compute(mean, x.dtype()), rc = cpu::contiguous_compute(rstd, x.dtype());
  Tensor gx = Tensor::empty(x.shape(), cdt);
  const bool want_gw = weight.has_value();
  const int64_t chunks = cpu::chunk_count(R, 64);
  // Per-chunk partial sums of the parameter gradients, combined in chunk order (reproducible).
  std::vector<double> gw_part(want_gw ? chunks * D : 0, 0.0), gb_part(has_bias ? chunks * D : 0, 0.0);
  cpu::dispatch_compute(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor wc = weight ? cpu::contiguous_compute(*weight, x.dtype()) : Tensor();
    const T* wp = weight ? wc.data<T>() : nullptr;
    const T *xp = xc.data<T>(), *gp = gyc.data<T>(), *mp = mc.data<T>(), *rp = rc.data<T>();
    T* gxp = gx.data<T>();
    // One instantiation per (weight?, dweight?, dbias?) case, so that the inner loops carry no
    // branches and vectorise.
    auto rows = [&](auto has_w, auto has_gw, auto has_gb) {
      cpu::parallel_chunks(R, 64, [&](int64_t chunk, int64_t r0, int64_t r1) {
        double* gw = has_gw ? gw_part.data() + chunk * D : nullptr;
        double* gb = has_gb ? gb_part.data() + chunk * D : nullptr;
        for (int64_t r = r0; r < r1; ++r) {
          const T *xr = xp + r * D, *gr = gp + r * D;
          const T m = mp[r], s = rp[r];
          auto g_at = [&](int64_t i) { return has_w ? gr[i] * wp[i] : gr[i]; };
          // pass 1: the row sums. Blocks of kBlock elements are summed in kSumLanes lanes of T (eight
          // terms per lane, so f32 keeps ~1e-6 of the block's magnitude) and the blocks in 8 double lanes:
          // float vectors go twice as wide as double ones.
          constexpr int64_t kSumLanes = 32, kBlock = 8 * kSumLanes;
          double lane_g[8] = {}, lane_gx[8] = {};
          int64_t i = 0;
          while (i + kSumLanes <= D) {
            T block_g[kSumLanes] = {}, block_gx[kSumLanes] = {};
            for (const int64_t end = std::min(D, i + kBlock); i + kSumLanes <= end; i += kSumLanes)
              for (int64_t j = 0; j < kSumLanes; ++j) {
                const T xhat = (xr[i + j] - m) * s, g = g_at(i + j);
                block_g[j] += g;
                block_gx[j] += g * xhat;
              }
            for (int64_t j = 0; j < kSumLanes; ++j) {
              lane_g[j % 8] += block_g[j];
              lane_gx[j % 8] += block_gx[j];
            }
          }
          for (; i < D; ++i) {
            const T xhat = (xr[i] - m) * s, g = g_at(i);
            lane_g[0] += g;
            lane_gx[0] += g * xhat;
          }
          const T mean_g = T(lanes_total(lane_g) / double(D)), mean_gx = T(lanes_total(lane_gx) / double(D));
          // pass 2: gx and this chunk's parameter-gradient sums together, one read of the row
          T* o = gxp + r * D;
          for (int64_t c = 0; c < D; ++c) {
            const T xhat = (xr[c] - m) * s;
            o[c] = s * (g_at(c) - mean_g - xhat * mean_gx);
            if constexpr (decltype(has_gw)::value) gw[c] += double(gr[c] * xhat);
            if constexpr (decltype(has_gb)::value) gb[c] += double(gr[c]);
          }
        }
      });
    };
    using yes = std::true_type;
    using no = std::false_type;
    if (want_gw && has_bias) rows(yes{}, yes{}, yes{});
    else if (want_gw) rows(yes{}, yes{}, no{});
    else if (has_bias) rows(no{}, no{}, yes{});
    else rows(no{}, no{}, no{});
  });
  auto combine = [&](const std::vector<double>& parts) {
    std::vector<double> total(D, 0.0);
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t i = 0; i < D; ++i) total[i] += parts[c * D + i];
    return to(reshape(from_vector(total, {D}), normalized_shape), x.dtype());
  };
  LayerNormGrads grads;
  grads.gx = to(gx, x.dtype());
  if (want_gw) grads.gweight = combine(gw_part);
  if (has_bias) grads.gbias = combine(gb_part);
  return grads;
}

}  // namespace cj::ops
