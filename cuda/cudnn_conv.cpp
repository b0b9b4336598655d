// Convolutions through cuDNN's legacy API (cudnnConvolutionForward / BackwardData / BackwardFilter,
// still in cuDNN 9's libcudnn_cnn). Every convolution is seen as the conv2d of cuda/conv_im2col.hpp:
// image (N, C, H, W) -> grid (N, O, Ho, Wo), so conv_transpose2d is the same three passes with roles
// swapped. One handle per device, bound to our stream at every call; the algorithm is the first of
// cudnnGet*Algorithm_v7's heuristic list whose workspace fits kMaxWorkspace, cached per problem; the
// workspace comes from the caching allocator. Math: f32 runs FMA-only unless TF32 is allowed
// (cuda::set_allow_tf32, the GEMM's switch), 16-bit on tensor cores with f32 accumulation, f64 in f64.
#ifdef CJ_WITH_CUDNN
#include "cuda/cudnn_conv.hpp"

#include <cudnn.h>

#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "cuda/conv_composite.hpp"
#include "cuda/ops.hpp"
#include "cuda/stream.hpp"

namespace cj::cuda::cudnn {

namespace {

using composite::ConvGeometry;

// Every cuDNN status is checked: the error names the op, the call and cuDNN's reason.
void check_status(const char* op, cudnnStatus_t st, const char* call) {
  if (st != CUDNN_STATUS_SUCCESS) fail(op, ": cuDNN error in ", call, ": ", cudnnGetErrorString(st));
}
#define CJ_CUDNN_CHECK(op, call) check_status(op, (call), #call)

constexpr std::size_t kMaxWorkspace = std::size_t(1) << 30;  // 1 GiB

cudnnHandle_t handle(int device, const char* op) {
  static std::mutex mutex;
  static auto* handles = new std::map<int, cudnnHandle_t>;  // never destroyed: see cuda_allocator()
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles->find(device);
  if (it == handles->end()) {
    require_device();
    cudnnHandle_t h = nullptr;
    CJ_CUDNN_CHECK(op, cudnnCreate(&h));
    it = handles->emplace(device, h).first;
  }
  CJ_CUDNN_CHECK(op, cudnnSetStream(it->second, current_stream()));
  return it->second;
}

cudnnDataType_t data_type(DType t) {
  switch (t) {
    case DType::f64: return CUDNN_DATA_DOUBLE;
    case DType::bf16: return CUDNN_DATA_BFLOAT16;
    case DType::f16: return CUDNN_DATA_HALF;
    default: return CUDNN_DATA_FLOAT;
  }
}

// f32 with TF32 off: FMA only (no tensor cores), so results match the CPU's f32 products.
bool fma_only(DType t) { return t == DType::f32 && !allow_tf32(); }

cudnnMathType_t math_type(DType t) {
  if (fma_only(t)) return CUDNN_FMA_MATH;
  return t == DType::bf16 || t == DType::f16 ? CUDNN_TENSOR_OP_MATH : CUDNN_DEFAULT_MATH;
}

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(const char* op, int64_t n, int64_t c, int64_t h, int64_t w, DType t) {
    CJ_CUDNN_CHECK(op, cudnnCreateTensorDescriptor(&d));
    CJ_CUDNN_CHECK(op, cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, data_type(t), int(n), int(c), int(h), int(w)));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc(const char* op, const ConvGeometry& g, DType t) {  // (O, C/G, kh, kw)
    CJ_CUDNN_CHECK(op, cudnnCreateFilterDescriptor(&d));
    CJ_CUDNN_CHECK(op, cudnnSetFilter4dDescriptor(d, data_type(t), CUDNN_TENSOR_NCHW, int(g.O), int(g.C / g.G),
                                                  int(g.kh), int(g.kw)));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc(const char* op, const Conv2dParams& p, DType t) {
    CJ_CUDNN_CHECK(op, cudnnCreateConvolutionDescriptor(&d));
    CJ_CUDNN_CHECK(op, cudnnSetConvolution2dDescriptor(d, int(p.pad_h), int(p.pad_w), int(p.stride_h), int(p.stride_w),
                                                       int(p.dilation_h), int(p.dilation_w), CUDNN_CROSS_CORRELATION,
                                                       t == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT));
    CJ_CUDNN_CHECK(op, cudnnSetConvolutionGroupCount(d, int(p.groups)));
    CJ_CUDNN_CHECK(op, cudnnSetConvolutionMathType(d, math_type(t)));
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// One convolution as cuDNN sees it: the image is its "x", the grid its "y".
struct Problem {
  const char* op;
  DType dtype;
  int device;
  cudnnHandle_t h;
  TensorDesc image, grid;
  FilterDesc filter;
  ConvDesc conv;
  std::vector<int64_t> key;  // in the algorithm cache of each pass

  Problem(const char* op_, const ConvGeometry& g, const Conv2dParams& p, DType t, int dev)
      : op(op_), dtype(t), device(dev), h(handle(dev, op_)), image(op_, g.N, g.C, g.H, g.W, t),
        grid(op_, g.N, g.O, g.Ho, g.Wo, t), filter(op_, g, t), conv(op_, p, t),
        key{dev,     int64_t(t), int64_t(math_type(t)), g.N, g.C, g.H, g.W, g.O, g.kh, g.kw,
            p.pad_h, p.pad_w,    p.stride_h,            p.stride_w, p.dilation_h, p.dilation_w, p.groups} {}
};

// 1 and 0 in the type cuDNN's alpha/beta take for this dtype (double for f64, float otherwise).
struct Blend {
  float f1 = 1.f, f0 = 0.f;
  double d1 = 1.0, d0 = 0.0;
  bool wide;
  explicit Blend(DType t) : wide(t == DType::f64) {}
  const void* one() const { return wide ? static_cast<const void*>(&d1) : &f1; }
  const void* zero() const { return wide ? static_cast<const void*>(&d0) : &f0; }
};

// cuDNN's three passes behind one interface: their algorithm heuristics, workspace size and call.
// Operands a, b -> out: forward image, weight -> grid; backward-data grid, weight -> image;
// backward-filter image, grid -> weight.
struct ForwardPass {
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  using Algo = cudnnConvolutionFwdAlgo_t;
  static constexpr const char* name = "cudnnConvolutionForward";
  static cudnnStatus_t max_count(const Problem& p, int* n) { return cudnnGetConvolutionForwardAlgorithmMaxCount(p.h, n); }
  static cudnnStatus_t heuristics(const Problem& p, int n, int* got, Perf* out) {
    return cudnnGetConvolutionForwardAlgorithm_v7(p.h, p.image.d, p.filter.d, p.conv.d, p.grid.d, n, got, out);
  }
  static cudnnStatus_t workspace_size(const Problem& p, Algo algo, std::size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(p.h, p.image.d, p.filter.d, p.conv.d, p.grid.d, algo, bytes);
  }
  static cudnnStatus_t run(const Problem& p, const Blend& k, Algo algo, const void* a, const void* b, void* ws,
                           std::size_t bytes, void* out) {
    return cudnnConvolutionForward(p.h, k.one(), p.image.d, a, p.filter.d, b, p.conv.d, algo, ws, bytes, k.zero(),
                                   p.grid.d, out);
  }
};

struct BackwardDataPass {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  static constexpr const char* name = "cudnnConvolutionBackwardData";
  static cudnnStatus_t max_count(const Problem& p, int* n) {
    return cudnnGetConvolutionBackwardDataAlgorithmMaxCount(p.h, n);
  }
  static cudnnStatus_t heuristics(const Problem& p, int n, int* got, Perf* out) {
    return cudnnGetConvolutionBackwardDataAlgorithm_v7(p.h, p.filter.d, p.grid.d, p.conv.d, p.image.d, n, got, out);
  }
  static cudnnStatus_t workspace_size(const Problem& p, Algo algo, std::size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(p.h, p.filter.d, p.grid.d, p.conv.d, p.image.d, algo, bytes);
  }
  static cudnnStatus_t run(const Problem& p, const Blend& k, Algo algo, const void* a, const void* b, void* ws,
                           std::size_t bytes, void* out) {
    return cudnnConvolutionBackwardData(p.h, k.one(), p.filter.d, b, p.grid.d, a, p.conv.d, algo, ws, bytes, k.zero(),
                                        p.image.d, out);
  }
};

struct BackwardFilterPass {
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  static constexpr const char* name = "cudnnConvolutionBackwardFilter";
  static cudnnStatus_t max_count(const Problem& p, int* n) {
    return cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(p.h, n);
  }
  static cudnnStatus_t heuristics(const Problem& p, int n, int* got, Perf* out) {
    return cudnnGetConvolutionBackwardFilterAlgorithm_v7(p.h, p.image.d, p.grid.d, p.conv.d, p.filter.d, n, got, out);
  }
  static cudnnStatus_t workspace_size(const Problem& p, Algo algo, std::size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(p.h, p.image.d, p.grid.d, p.conv.d, p.filter.d, algo, bytes);
  }
  static cudnnStatus_t run(const Problem& p, const Blend& k, Algo algo, const void* a, const void* b, void* ws,
                           std::size_t bytes, void* out) {
    return cudnnConvolutionBackwardFilter(p.h, k.one(), p.image.d, a, p.grid.d, b, p.conv.d, algo, ws, bytes, k.zero(),
                                          p.filter.d, out);
  }
};

struct Choice {
  bool found = false;
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

// The first heuristic result that succeeded, fits the workspace cap and keeps TF32 off when it must
// be; none when the heuristics answer NOT_SUPPORTED (e.g. a dtype this card lacks).
template <typename P>
Choice ask_heuristics(const Problem& pr) {
  int max_count = 0;
  check_status(pr.op, P::max_count(pr, &max_count), "the algorithm count");
  std::vector<typename P::Perf> perf(size_t(std::max(max_count, 1)));
  int returned = 0;
  const cudnnStatus_t st = P::heuristics(pr, int(perf.size()), &returned, perf.data());
  if (st == CUDNN_STATUS_NOT_SUPPORTED) return {};
  check_status(pr.op, st, "the algorithm heuristics");
  for (int i = 0; i < returned; ++i) {
    const auto& r = perf[size_t(i)];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > kMaxWorkspace) continue;
    if (fma_only(pr.dtype) && r.mathType != CUDNN_FMA_MATH) continue;
    return {true, int(r.algo), r.mathType};
  }
  return {};
}

// ask_heuristics, once per problem and pass.
template <typename P>
Choice find_algorithm(const Problem& pr) {
  static std::mutex mutex;
  static auto* cache = new std::map<std::vector<int64_t>, Choice>;  // never destroyed: see cuda_allocator()
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache->find(pr.key);
    if (it != cache->end()) return it->second;
  }
  const Choice c = ask_heuristics<P>(pr);
  std::lock_guard<std::mutex> lock(mutex);
  cache->emplace(pr.key, c);
  return c;
}

// Runs one pass into `out` (contiguous, preallocated), its workspace from the caching allocator
// (freed when the call is queued: the next op's kernels run after it on the one stream). False when
// cuDNN has no algorithm for it, unless `required`: then that is an error naming the op.
template <typename P>
bool run_pass(const Problem& pr, const Tensor& a, const Tensor& b, const Tensor& out, bool required) {
  const Choice c = find_algorithm<P>(pr);
  if (!c.found) {
    CJ_CHECK(!required, pr.op, ": the cuDNN path was forced (set_conv_path / CJ_CONV) but cuDNN has no ", P::name,
             " algorithm for ", dtype_name(pr.dtype), " with a workspace under 1 GiB");
    return false;
  }
  check_status(pr.op, cudnnSetConvolutionMathType(pr.conv.d, c.math), "cudnnSetConvolutionMathType");
  const auto algo = typename P::Algo(c.algo);
  std::size_t bytes = 0;
  check_status(pr.op, P::workspace_size(pr, algo, &bytes), "the workspace size");
  Tensor ws = Tensor::empty({int64_t(std::max<std::size_t>(bytes, 1))}, {DType::u8, Device::cuda(pr.device)});
  check_status(pr.op, P::run(pr, Blend(pr.dtype), algo, a.data_ptr(), b.data_ptr(), ws.data_ptr(), bytes, out.data_ptr()),
               P::name);
  return true;
}

// The three passes, each falling back to its native twin when cuDNN has no algorithm for it.
Tensor grid_of(const Problem& pr, const ConvGeometry& g, const Conv2dParams& p, const Tensor& image, const Tensor& w,
               bool required) {
  Tensor out = Tensor::empty(composite::grid_shape(g), {image.dtype(), image.device()});
  return run_pass<ForwardPass>(pr, image, w, out, required) ? out
                                                              : composite::grid_pass(image, w, std::nullopt, g, p);
}

Tensor image_of(const Problem& pr, const ConvGeometry& g, const Conv2dParams& p, const Tensor& grid, const Tensor& w,
                bool required) {
  Tensor out = Tensor::empty(composite::image_shape(g), {grid.dtype(), grid.device()});
  return run_pass<BackwardDataPass>(pr, grid, w, out, required) ? out
                                                                   : composite::image_pass(grid, w, std::nullopt, g, p);
}

Tensor weight_grad_of(const Problem& pr, const ConvGeometry& g, const Conv2dParams& p, const Tensor& image,
                      const Tensor& grid, bool required) {
  Tensor out = Tensor::empty({g.O, g.C / g.G, g.kh, g.kw}, {image.dtype(), image.device()});
  return run_pass<BackwardFilterPass>(pr, image, grid, out, required) ? out
                                                                         : composite::filter_pass(image, grid, g, p);
}

// out[n, o, :, :] += b[o], in place
void add_bias_(const Tensor& out, const std::optional<Tensor>& b) {
  if (b) ops::add_(out, ops::reshape(*b, {1, b->size(0), 1, 1}));
}

bool fits_int(int64_t n) { return n <= INT_MAX; }

// t packed (NCHW, as the descriptors say) and 16-byte aligned for cuDNN's vectorised loads: a view
// at an odd offset is copied, as gemm.cpp does for cuBLASLt.
Tensor packed(const Tensor& t) {
  Tensor c = ops::contiguous(t);
  return reinterpret_cast<std::uintptr_t>(c.data_ptr()) % 16 == 0 ? c : ops::clone(c);
}

}  // namespace

const char* refusal(const Tensor& x, const Tensor& w, const Conv2dParams& p, bool transposed) {
  const ConvGeometry g = transposed ? composite::transposed_geometry(x, w, p) : composite::conv_geometry(x, w, p);
  if (!fits_int(g.N * g.C * g.H * g.W) || !fits_int(g.N * g.O * g.Ho * g.Wo) || !fits_int(w.numel()) ||
      !fits_int(g.Hp) || !fits_int(g.Wp))
    return "tensors of 2^31 elements or more";
  // cuDNN infers the grid from the image: with output_padding at or beyond the stride it has more rows
  if (transposed && (composite::patch_count(g.Hp, g.kh, p.stride_h, p.dilation_h) != g.Ho ||
                     composite::patch_count(g.Wp, g.kw, p.stride_w, p.dilation_w) != g.Wo))
    return "output_padding not below the stride";
  return nullptr;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p, bool required) {
  const ConvGeometry g = composite::conv_geometry(x, w, p);
  Problem pr("conv2d", g, p, x.dtype(), x.device().index);
  Tensor y = grid_of(pr, g, p, packed(x), packed(w), required);
  add_bias_(y, b);
  return y;
}

ops::ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                               const Conv2dParams& p, bool required) {
  const ConvGeometry g = composite::conv_geometry(x, w, p);
  Problem pr("conv2d_backward", g, p, x.dtype(), x.device().index);
  Tensor gyc = packed(gy);
  ops::ConvGrads grads;
  grads.gx = image_of(pr, g, p, gyc, packed(w), required);
  grads.gw = weight_grad_of(pr, g, p, packed(x), gyc, required);
  if (has_bias) grads.gb = composite::conv_bias_gradient(gyc);
  return grads;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p,
                        bool required) {
  const ConvGeometry g = composite::transposed_geometry(x, w, p);
  Problem pr("conv_transpose2d", g, p, x.dtype(), x.device().index);
  Tensor y = image_of(pr, g, p, packed(x), packed(w), required);
  add_bias_(y, b);
  return y;
}

ops::ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                         const Conv2dParams& p, bool required) {
  const ConvGeometry g = composite::transposed_geometry(x, w, p);
  Problem pr("conv_transpose2d_backward", g, p, x.dtype(), x.device().index);
  Tensor gyc = packed(gy);
  ops::ConvGrads grads;
  grads.gx = grid_of(pr, g, p, gyc, packed(w), required);
  grads.gw = weight_grad_of(pr, g, p, gyc, packed(x), required);
  if (has_bias) grads.gb = composite::conv_bias_gradient(gyc);
  return grads;
}

}  // namespace cj::cuda::cudnn
#endif  // CJ_WITH_CUDNN
