// Matrix products through cuBLASLt. One handle and one persistent 32 MiB workspace per process;
// the algorithm chosen by the heuristic is cached per problem. cuBLASLt is column-major, so a
// row-major C = A·B is computed as the column-major Cᵀ = Bᵀ·Aᵀ: a row-major matrix read as
// column-major is already its own transpose, and a transposed view (stride 1 along rows) is passed
// with the transpose flag instead of being copied.
#include <cublasLt.h>

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/ops.hpp"
#include "cuda/stream.hpp"
#include "tensor/ops/views.hpp"

#define CJ_CUBLAS_CHECK(call)                                                              \
  do {                                                                                     \
    cublasStatus_t cj_st_ = (call);                                                        \
    if (cj_st_ != CUBLAS_STATUS_SUCCESS)                                                   \
      ::cj::fail("cuBLASLt error in ", #call, ": ", cublasLtGetStatusString(cj_st_), " (", \
                 __FILE__, ":", __LINE__, ")");                                            \
  } while (0)

namespace cj::cuda {

namespace {

constexpr std::size_t kWorkspaceBytes = std::size_t(32) << 20;
std::atomic<bool> g_allow_tf32{false};

struct LtState {
  std::mutex mutex;  // the workspace and the cache are shared
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<std::vector<int64_t>, cublasLtMatmulAlgo_t> algos;
};

LtState& lt() {
  static LtState* state = [] {  // never destroyed: see cuda_allocator()
    require_device();
    auto* s = new LtState;
    CJ_CUBLAS_CHECK(cublasLtCreate(&s->handle));
    CJ_CUDA_CHECK(cudaMalloc(&s->workspace, kWorkspaceBytes));
    return s;
  }();
  return *state;
}

// One operand, a batch of row-major (rows, cols) matrices as cuBLASLt can read it in place.
struct Operand {
  Tensor t;             // keeps a materialised copy alive
  bool col_major = false;  // stride 1 along rows: pass with the transpose flag
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

bool describe(const Tensor& t, Operand& op) {
  const int64_t B = t.size(0), R = t.size(1), C = t.size(2);
  const int64_t sb = t.stride(0), sr = t.stride(1), sc = t.stride(2);
  if (B > 1 && sb <= 0) return false;  // a broadcast batch: cuBLASLt wants real strides
  op.t = t;
  op.batch_stride = B > 1 ? sb : 0;
  if ((sc == 1 || C == 1) && (R == 1 || sr >= std::max<int64_t>(C, 1))) {
    op.col_major = false;
    op.ld = R == 1 ? std::max<int64_t>(C, 1) : sr;
    return true;
  }
  if ((sr == 1 || R == 1) && (C == 1 || sc >= std::max<int64_t>(R, 1))) {
    op.col_major = true;
    op.ld = C == 1 ? std::max<int64_t>(R, 1) : sc;
    return true;
  }
  return false;
}

Operand operand(const Tensor& t) {
  Operand op;
  if (!describe(t, op)) describe(ops::contiguous(t), op);
  return op;
}

uint32_t alignment(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && a % align != 0) align /= 2;
  return align;
}

struct LtTypes {
  cudaDataType_t data, scale;
  cublasComputeType_t compute;
};

LtTypes lt_types(DType t, const char* op) {
  switch (t) {
    case DType::f32:
      return {CUDA_R_32F, CUDA_R_32F, g_allow_tf32.load() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
    case DType::f64: return {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F};
    case DType::bf16: return {CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case DType::f16: return {CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    default: fail(op, ": the cuda GEMM takes f32, f64, bf16 or f16, got ", dtype_name(t));
  }
}

// Destroys cuBLASLt descriptors when the call ends, however it ends.
struct LtDescriptors {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescriptors() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

void make_layout(cublasLtMatrixLayout_t* layout, cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld,
                 int32_t batch, int64_t batch_stride) {
  CJ_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(layout, type, uint64_t(rows), uint64_t(cols), ld));
  if (batch > 1) {
    CJ_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch));
    CJ_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride,
                                                     sizeof batch_stride));
  }
}

// out (B, M, N) contiguous = alpha · a (B, M, K) · b (B, K, N) [+ bias (N), broadcast over rows].
// Returns false when cuBLASLt offers no algorithm for these layouts (the caller retries contiguous).
bool lt_matmul(const char* op, const Tensor& out, const Operand& A, const Operand& B, double alpha,
               const Tensor* bias) {
  const int64_t batch = out.size(0), M = out.size(1), N = out.size(2), K = A.t.size(2);
  CJ_CHECK(batch <= INT32_MAX, op, ": batch of ", batch, " matrices is more than cuBLASLt takes");
  const LtTypes types = lt_types(out.dtype(), op);
  auto& s = lt();
  std::lock_guard<std::mutex> lock(s.mutex);
  LtDescriptors L;
  // Column-major problem: D (N x M) = opA (N x K) · opB (K x M), with "A" = b and "B" = a.
  const cublasOperation_t op_a = B.col_major ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = A.col_major ? CUBLAS_OP_T : CUBLAS_OP_N;
  CJ_CUBLAS_CHECK(cublasLtMatmulDescCreate(&L.desc, types.compute, types.scale));
  CJ_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(L.desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
  CJ_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(L.desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
  const void* bias_ptr = bias ? bias->data_ptr() : nullptr;
  if (bias) {
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    CJ_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(L.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
    CJ_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(L.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_ptr, sizeof bias_ptr));
  }
  const int32_t b32 = int32_t(batch);
  if (op_a == CUBLAS_OP_N) make_layout(&L.a, types.data, N, K, B.ld, b32, B.batch_stride);
  else make_layout(&L.a, types.data, K, N, B.ld, b32, B.batch_stride);
  if (op_b == CUBLAS_OP_N) make_layout(&L.b, types.data, K, M, A.ld, b32, A.batch_stride);
  else make_layout(&L.b, types.data, M, K, A.ld, b32, A.batch_stride);
  make_layout(&L.d, types.data, N, M, N, b32, M * N);

  const void* pa = B.t.data_ptr();
  const void* pb = A.t.data_ptr();
  void* pd = out.data_ptr();
  const uint32_t align_a = alignment(pa), align_b = alignment(pb), align_d = alignment(pd);
  std::vector<int64_t> key = {int64_t(out.dtype()), int64_t(types.compute), op_a, op_b, M, N, K, A.ld, B.ld,
                              batch, A.batch_stride, B.batch_stride, bias != nullptr, align_a, align_b, align_d,
                              bias ? alignment(bias_ptr) : 0};
  auto it = s.algos.find(key);
  if (it == s.algos.end()) {
    CJ_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&L.pref));
    uint64_t ws = kWorkspaceBytes;
    CJ_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(L.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_d},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_d}};
    for (const auto& [attr, value] : aligns)
      CJ_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(L.pref, attr, &value, sizeof value));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    // cuBLASLt answers "no algorithm" either with found = 0 or with NOT_SUPPORTED: both mean retry packed
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(s.handle, L.desc, L.a, L.b, L.d, L.d, L.pref, 1, &result,
                                                             &found);
    if (st == CUBLAS_STATUS_NOT_SUPPORTED || (st == CUBLAS_STATUS_SUCCESS && found == 0)) return false;
    CJ_CUBLAS_CHECK(st);
    it = s.algos.emplace(key, result.algo).first;
  }
  const float alpha32 = float(alpha), beta32 = 0.0f;
  const double alpha64 = alpha, beta64 = 0.0;
  const bool f64 = types.scale == CUDA_R_64F;
  CJ_CUBLAS_CHECK(cublasLtMatmul(s.handle, L.desc, f64 ? static_cast<const void*>(&alpha64) : &alpha32, pa, L.a, pb, L.b,
                                 f64 ? static_cast<const void*>(&beta64) : &beta32, pd, L.d, pd, L.d, &it->second,
                                 s.workspace, kWorkspaceBytes, current_stream()));
  return true;
}

// out (B, M, N) = alpha · a · b [+ bias]; a, b 3-D on the GPU with matching dtypes.
void gemm(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, double alpha,
          const std::optional<Tensor>& bias) {
  Tensor bias_c;
  if (bias && bias->defined()) {
    bias_c = ops::contiguous(as_dtype(*bias, out.dtype()));
    if (alignment(bias_c.data_ptr()) < 16) bias_c = ops::clone(bias_c);
  }
  if (out.numel() == 0) return;
  if (a.size(2) == 0) {  // empty inner dim: the product is zero
    if (bias_c.defined()) copy_(out, bias_c);
    else fill_(out, 0);
    return;
  }
  const Tensor* bias_ptr = bias_c.defined() ? &bias_c : nullptr;
  if (lt_matmul(op, out, operand(a), operand(b), alpha, bias_ptr)) return;
  Operand ac, bc;  // some layouts (odd leading dims, misaligned views) have no algorithm: copy them
  describe(ops::clone(a), ac);
  describe(ops::clone(b), bc);
  CJ_CHECK(lt_matmul(op, out, ac, bc, alpha, bias_ptr), op, ": cuBLASLt found no algorithm for ",
           a.shape(), " x ", b.shape(), " in ", dtype_name(out.dtype()));
}

void check_pair(const char* op, const Tensor& a, const Tensor& b) {
  check_cuda(op, a);
  check_cuda(op, b);
  CJ_CHECK(a.dtype() == b.dtype(), op, ": expected both operands of one dtype, got ", dtype_name(a.dtype()), " and ",
           dtype_name(b.dtype()));
}

}  // namespace

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

Tensor bmm_scaled(const Tensor& a, const Tensor& b, double alpha) {
  check_pair("bmm", a, b);
  CJ_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
           "bmm: expected (B, M, K) and (B, K, N), got ", a.shape(), " and ", b.shape());
  Tensor out = Tensor::empty({a.size(0), a.size(1), b.size(2)}, {a.dtype(), a.device()});
  gemm("bmm", out, a, b, alpha, std::nullopt);
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) { return bmm_scaled(a, b, 1.0); }

Tensor mm(const Tensor& a, const Tensor& b) {
  check_pair("mm", a, b);
  CJ_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "mm: expected (M, K) and (K, N), got ", a.shape(),
           " and ", b.shape());
  Tensor out = Tensor::empty({a.size(0), b.size(1)}, {a.dtype(), a.device()});
  gemm("mm", ops::unsqueeze(out, 0), ops::unsqueeze(a, 0), ops::unsqueeze(b, 0), 1.0, std::nullopt);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias) {
  check_pair("linear", x, weight);
  CJ_CHECK(x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1), "linear: input ", x.shape(),
           " does not match weight ", weight.shape(), " (expected (..., in) and (out, in))");
  const int64_t in = weight.size(1), out_features = weight.size(0);
  if (bias && bias->defined()) {
    check_cuda("linear", *bias);
    CJ_CHECK(bias->dim() == 1 && bias->size(0) == out_features, "linear: bias ", bias->shape(), ", expected (",
             out_features, ")");
  }
  // (rows, in); rows spelled out: a -1 cannot be inferred for 0 elements
  Tensor x2 = ops::reshape(x, {shape_numel(Shape(x.shape().begin(), x.shape().end() - 1)), in});
  Tensor out = Tensor::empty({x2.size(0), out_features}, {x.dtype(), x.device()});
  // out = x · Wᵀ: Wᵀ is a transposed view that cuBLASLt reads with its transpose flag
  gemm("linear", ops::unsqueeze(out, 0), ops::unsqueeze(x2, 0), ops::unsqueeze(ops::transpose(weight, 0, 1), 0), 1.0,
       bias);
  Shape shape(x.shape().begin(), x.shape().end() - 1);
  shape.push_back(out_features);
  return ops::view(out, shape);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_pair("matmul", a, b);
  CJ_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dim, got ", a.shape(), " and ",
           b.shape());
  if (a.dim() <= 2 && b.dim() <= 2) {
    Tensor a2 = a.dim() == 1 ? ops::unsqueeze(a, 0) : a;
    Tensor b2 = b.dim() == 1 ? ops::unsqueeze(b, 1) : b;
    CJ_CHECK(a2.size(1) == b2.size(0), "matmul: inner dims differ: ", a.shape(), " and ", b.shape());
    Tensor r = mm(a2, b2);
    if (a.dim() == 1) r = ops::squeeze(r, 0);
    if (b.dim() == 1) r = ops::squeeze(r, -1);
    return r;
  }
  if (b.dim() <= 2 && a.dim() >= 3) {  // fold a's batch into its rows: one big GEMM
    Tensor b2 = b.dim() == 1 ? ops::unsqueeze(b, 1) : b;
    CJ_CHECK(a.size(-1) == b2.size(0), "matmul: inner dims differ: ", a.shape(), " and ", b.shape());
    Tensor r = mm(ops::reshape(a, {shape_numel(Shape(a.shape().begin(), a.shape().end() - 1)), a.size(-1)}), b2);
    Shape shape(a.shape().begin(), a.shape().end() - 1);
    if (b.dim() == 2) shape.push_back(b.size(1));
    return ops::view(r, shape);
  }
  Tensor a3 = a.dim() == 1 ? ops::unsqueeze(a, 0) : a;  // (..., M, K)
  Tensor b3 = b.dim() == 1 ? ops::unsqueeze(b, 1) : b;  // (..., K, N)
  CJ_CHECK(a3.size(-1) == b3.size(-2), "matmul: inner dims differ: ", a.shape(), " and ", b.shape());
  Shape batch = broadcast_shapes(Shape(a3.shape().begin(), a3.shape().end() - 2),
                                 Shape(b3.shape().begin(), b3.shape().end() - 2), "matmul");
  const int64_t M = a3.size(-2), K = a3.size(-1), N = b3.size(-1);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {M, K});
  eb.insert(eb.end(), {K, N});
  const int64_t Bt = shape_numel(batch);
  Tensor r = bmm(ops::reshape(ops::expand(a3, ea), {Bt, M, K}), ops::reshape(ops::expand(b3, eb), {Bt, K, N}));
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(M);
  if (b.dim() > 1) shape.push_back(N);
  return ops::view(r, shape);
}

}  // namespace cj::cuda
