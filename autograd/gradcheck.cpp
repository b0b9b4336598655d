#include "autograd/gradcheck.hpp"

#include <cmath>
#include <cstdint>
#include <sstream>

#include "autograd/engine.hpp"
#include "autograd/function.hpp"
#include "autograd/grad_mode.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

namespace {

// A fixed projection with entries in [-1, -0.25] U [0.25, 1] (never near zero, so no output is
// silently left out), laid out transposed in memory when the output has 2+ dims.
Tensor projection(const Shape& shape) {
  Shape stored = shape;
  if (stored.size() >= 2) std::swap(stored[stored.size() - 1], stored[stored.size() - 2]);
  std::vector<double> values(shape_numel(shape));
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (double& v : values) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    double u = double(state >> 11) / double(uint64_t(1) << 53);  // [0, 1)
    v = (u < 0.5 ? -1.0 : 1.0) * (0.25 + 1.5 * std::fabs(u - 0.5));
  }
  Tensor t = from_vector(values, stored);
  if (shape.size() >= 2) t = ops::transpose(t, -1, -2);
  return t;
}

double dot(const Tensor& a, const Tensor& b) {
  std::vector<double> x = to_vector<double>(a), y = to_vector<double>(b);
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

std::string index_str(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_str(idx);
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  std::vector<Tensor> xs;
  std::vector<bool> checked;
  bool any_checked = false;
  for (const Tensor& in : inputs) {
    CJ_CHECK(!in.defined() || in.is_cpu(), "gradcheck: runs on CPU tensors, got an input on ", in.device().str());
    bool check = in.defined() && in.requires_grad();
    Tensor x = in.defined() && is_floating(in.dtype()) ? ops::clone(ops::to(in, DType::f64)) : in;
    if (check) x.requires_grad_(true);
    xs.push_back(x);
    checked.push_back(check);
    any_checked |= check;
  }
  CJ_CHECK(any_checked, "gradcheck: no input requires grad, so there is nothing to check");

  Tensor y;
  {
    EnableGradGuard enable;
    y = fn(xs);
  }
  CJ_CHECK(y.defined() && y.requires_grad(), "gradcheck: the function's output does not require grad");
  CJ_CHECK(y.dtype() == DType::f64, "gradcheck: the output is ", dtype_name(y.dtype()),
           " although every floating input was converted to f64");
  const Tensor v = projection(y.shape());
  backward(y, v);

  GradcheckResult result;
  double worst_excess = 0;
  std::string worst;          // the element furthest outside its tolerance
  std::ostringstream counts;  // how many elements of each input failed
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!checked[i]) continue;
    const Tensor& x = xs[i];
    Tensor analytic = x.grad().defined() ? x.grad() : zeros_like(x);
    std::vector<double> a = to_vector<double>(analytic);
    double* data = x.data<double>();  // a fresh contiguous clone, so flat index = element
    int64_t failures = 0;
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double orig = data[j];
      data[j] = orig + eps;
      x.bump_version();
      double plus = dot(v, fn(xs));
      data[j] = orig - eps;
      x.bump_version();
      double minus = dot(v, fn(xs));
      data[j] = orig;
      x.bump_version();
      double numeric = (plus - minus) / (2 * eps);
      double diff = std::fabs(a[j] - numeric);
      double tol = atol + rtol * std::fabs(numeric);
      if (!(diff <= tol)) {  // also catches NaN
        ++failures;
        double excess = std::isnan(diff) ? INFINITY : diff / tol;
        if (result.ok || excess > worst_excess) {
          worst_excess = excess;
          std::ostringstream msg;
          msg.precision(10);
          msg << "gradcheck: input " << i << " (shape " << shape_str(x.shape()) << ") element "
              << index_str(j, x.shape()) << ": analytic " << a[j] << " vs numeric " << numeric << " (|diff| " << diff
              << " > tolerance " << tol << ")";
          worst = msg.str();
        }
        result.ok = false;
      }
    }
    if (failures > 0)
      counts << "; input " << i << ": " << failures << " of " << x.numel() << " elements out of tolerance";
  }
  result.message = worst + counts.str();
  return result;
}

}  // namespace cj
