#include "tensor/backend.hpp"
#include "tensor/ops/linalg.hpp"

#include "tensor/cpu/float_compute.hpp"
#include "tensor/cpu/gemm.hpp"
#include "tensor/ops/views.hpp"

namespace cj::ops {

namespace {

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  CJ_CHECK(a.defined() && b.defined(), op, ": got an undefined tensor");
  CJ_CHECK(a.is_cpu() && b.is_cpu(), op, ": tensors are on ", a.device().str(), " and ", b.device().str(),
           "; only CPU kernels exist so far");
  CJ_CHECK(a.dtype() == b.dtype(), op, ": expected both operands to have the same dtype, got ",
           dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  CJ_CHECK(is_floating(a.dtype()), op, ": expected a floating dtype (f32, f64, bf16, f16), got ",
           dtype_name(a.dtype()));
}

// A batch of matrices (B, R, C) as gemm reads it: element (b, r, c) lies at
// data + b * batch_stride + (trans ? c * ld + r : r * ld + c).
struct MatrixBatch {
  Tensor holder;  // keeps a copy alive when the view had to be materialised
  int64_t batch_stride = 0, ld = 0;
  bool trans = false;
};

MatrixBatch as_matrix_batch(const Tensor& t3) {  // t3: (B, R, C), already in the compute dtype
  const int64_t R = t3.size(1), C = t3.size(2);
  const int64_t sb = t3.size(0) == 1 ? 0 : t3.stride(0), sr = t3.stride(1), sc = t3.stride(2);
  if ((C == 1 || sc == 1) && (R == 1 || sr >= C)) return {t3, sb, R == 1 ? C : sr, false};
  if ((R == 1 || sr == 1) && (C == 1 || sc >= R)) return {t3, sb, C == 1 ? R : sc, true};  // a transposed view
  Tensor c = contiguous(t3);
  return {c, R * C, C, false};
}

// a: (B, M, K), b: (B, K, N) in the same floating dtype -> (B, M, N). Batch strides may be 0.
Tensor batched_product(const Tensor& a, const Tensor& b) {
  const DType out_dtype = a.dtype(), cdt = cpu::compute_dtype(out_dtype);
  const int64_t B = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
  MatrixBatch ma = as_matrix_batch(to(a, cdt)), mb = as_matrix_batch(to(b, cdt));
  Tensor out = Tensor::empty({B, M, N}, cdt);
  if (cdt == DType::f32) {
    cpu::gemm_batched(B, ma.trans, mb.trans, M, N, K, 1.0f, ma.holder.data<float>(), ma.ld, ma.batch_stride,
                      mb.holder.data<float>(), mb.ld, mb.batch_stride, 0.0f, out.data<float>(), N, M * N);
  } else {
    cpu::gemm_batched(B, ma.trans, mb.trans, M, N, K, 1.0, ma.holder.data<double>(), ma.ld, ma.batch_stride,
                      mb.holder.data<double>(), mb.ld, mb.batch_stride, 0.0, out.data<double>(), N, M * N);
  }
  return to(out, out_dtype);
}

// (batch..., R, C) -> (prod(batch), R, C), a view when the batch dims share one stride (also 0).
Tensor flatten_batch(const Tensor& t) {
  const int64_t R = t.size(-2), C = t.size(-1);
  Shape flat{-1, R, C};
  if (t.numel() == 0) return reshape(t, {shape_numel(Shape(t.shape().begin(), t.shape().end() - 2)), R, C});
  try {
    return view(t, flat);
  } catch (const Error&) {
    return view(contiguous(t), flat);  // batch dims mix broadcast and real strides
  }
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "mm", a, a, b);
  check_operands(a, b, "mm");
  CJ_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected 2-D matrices, got ", a.shape(), " and ", b.shape());
  CJ_CHECK(a.size(1) == b.size(0), "mm: cannot multiply ", a.shape(), " by ", b.shape(), " (inner sizes ",
           a.size(1), " and ", b.size(0), " differ)");
  return squeeze(batched_product(unsqueeze(a, 0), unsqueeze(b, 0)), 0);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "bmm", a, a, b);
  check_operands(a, b, "bmm");
  CJ_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-D batches, got ", a.shape(), " and ", b.shape());
  CJ_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm: cannot multiply ", a.shape(), " by ", b.shape(),
           " (expected (B, M, K) and (B, K, N))");
  return batched_product(a, b);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&), "matmul", a, a, b);
  check_operands(a, b, "matmul");
  const int64_t da = a.dim(), db = b.dim();
  CJ_CHECK(da >= 1 && db >= 1, "matmul: both arguments need at least 1 dim, got ", a.shape(), " and ", b.shape());
  const int64_t K = a.size(-1), Kb = db == 1 ? b.size(0) : b.size(-2);
  CJ_CHECK(K == Kb, "matmul: cannot multiply ", a.shape(), " by ", b.shape(), " (inner sizes ", K, " and ", Kb,
           " differ)");
  if (db <= 2 && da != 2 && da != 1) {
    // (..., M, K) · (K, N): fold the batch into the rows, one big GEMM (as torch does).
    Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    Tensor rows = mm(reshape(a, {shape_numel(out_shape), K}), b2);  // (prod(...)·M, N); no -1: K may be 0
    if (db == 2) out_shape.push_back(b.size(1));
    return reshape(rows, out_shape);
  }
  // General case: 1-D operands become matrices, batch dims broadcast.
  Tensor a2 = da == 1 ? unsqueeze(a, 0) : a;   // (..., M, K)
  Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;   // (..., K, N)
  Shape batch = broadcast_shapes(Shape(a2.shape().begin(), a2.shape().end() - 2),
                                 Shape(b2.shape().begin(), b2.shape().end() - 2), "matmul");
  const int64_t M = a2.size(-2), N = b2.size(-1);
  Shape a_shape = batch, b_shape = batch;
  a_shape.insert(a_shape.end(), {M, K});
  b_shape.insert(b_shape.end(), {K, N});
  Tensor out = batched_product(flatten_batch(expand(a2, a_shape)), flatten_batch(expand(b2, b_shape)));
  Shape out_shape = batch;
  if (da != 1) out_shape.push_back(M);
  if (db != 1) out_shape.push_back(N);
  return reshape(out, out_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&, const std::optional<Tensor>&), "linear", x, x, weight, bias);
  check_operands(x, weight, "linear");
  CJ_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got ", weight.shape());
  CJ_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input ", x.shape(), " does not end in in_features ",
           weight.size(1), " of weight ", weight.shape());
  const int64_t in = weight.size(1), out_features = weight.size(0);
  if (bias) {
    check_operands(x, *bias, "linear");
    CJ_CHECK(bias->dim() == 1 && bias->size(0) == out_features, "linear: bias must be (", out_features, "), got ",
             bias->shape());
  }
  const DType out_dtype = x.dtype(), cdt = cpu::compute_dtype(out_dtype);
  Tensor x2 = to(reshape(x, {shape_numel(Shape(x.shape().begin(), x.shape().end() - 1)), in}), cdt);  // (R, in)
  const int64_t R = x2.size(0);
  MatrixBatch mx = as_matrix_batch(unsqueeze(x2, 0));
  MatrixBatch mw = as_matrix_batch(unsqueeze(transpose(to(weight, cdt), 0, 1), 0));  // Wᵀ: (in, out), no copy
  Tensor y = Tensor::empty({R, out_features}, cdt);
  if (bias) copy_(y, expand(unsqueeze(*bias, 0), {R, out_features}));
  const bool accumulate = bias.has_value();
  if (cdt == DType::f32) {
    cpu::gemm(mx.trans, mw.trans, R, out_features, in, 1.0f, mx.holder.data<float>(), mx.ld, mw.holder.data<float>(),
              mw.ld, accumulate ? 1.0f : 0.0f, y.data<float>(), out_features);
  } else {
    cpu::gemm(mx.trans, mw.trans, R, out_features, in, 1.0, mx.holder.data<double>(), mx.ld,
              mw.holder.data<double>(), mw.ld, accumulate ? 1.0 : 0.0, y.data<double>(), out_features);
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);
  return reshape(to(y, out_dtype), out_shape);
}

}  // namespace cj::ops
