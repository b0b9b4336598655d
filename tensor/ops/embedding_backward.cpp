// Gradient of embedding(weight, index) = weight[index] with respect to weight.
#include "tensor/backend.hpp"
#include "tensor/cpu/float_compute.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/nn_kernels.hpp"

namespace cj::ops {

// gy: index.shape + [D], index: integer -> (num_embeddings, D); repeated indices accumulate.
Tensor embedding_backward(const Tensor& gy, const Tensor& index, int64_t num_embeddings) {
  CJ_FORWARD_TO_DEVICE(decltype(embedding_backward), "embedding_backward", gy, gy, index, num_embeddings);
  cpu::check_float_cpu(gy, "embedding_backward", "grad_output");
  CJ_CHECK(index.defined() && index.is_cpu(), "embedding_backward: index must be a CPU tensor");
  CJ_CHECK(gy.dim() == index.dim() + 1 && Shape(gy.shape().begin(), gy.shape().end() - 1) == index.shape(),
           "embedding_backward: grad_output ", gy.shape(), " must be index.shape ", index.shape(), " + [D]");
  CJ_CHECK(num_embeddings >= 0, "embedding_backward: num_embeddings must be >= 0, got ", num_embeddings);
  const int64_t D = gy.size(-1), n = index.numel();
  Tensor gc = cpu::contiguous_compute(gy, gy.dtype());
  Tensor ic = ops::contiguous(index);
  Tensor gw = zeros({num_embeddings, D}, cpu::compute_dtype(gy.dtype()));
  dispatch_index(index.dtype(), "embedding_backward", [&](auto itag) {
    using I = typename decltype(itag)::type;
    const I* ip = ic.data<I>();
    cpu::dispatch_compute(gy.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* g = gc.data<T>();
      T* out = gw.data<T>();
      // Sequential over positions so repeated indices always accumulate in the same order.
      for (int64_t p = 0; p < n; ++p) {
        const int64_t row = int64_t(ip[p]);
        CJ_CHECK(row >= 0 && row < num_embeddings, "embedding_backward: index ", row, " at position ", p,
                 " is out of range for ", num_embeddings, " embeddings");
        for (int64_t d = 0; d < D; ++d) out[row * D + d] += g[p * D + d];
      }
    });
  });
  return to(gw, gy.dtype());
}

}  // namespace cj::ops
