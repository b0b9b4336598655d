// nn::Adam / AdamW with fused = true: the moments of all parameters of one dtype and device live
// in one flat buffer each, and a step is one ops::fused_adam_ call per such bucket.
//
// Layout: a bucket holds the parameters of one (dtype, device) in parameter-index order;
// parameter k's moments are elements [offset_k, offset_k + numel_k) of each buffer, and the
// optimizer's state tensors ("<i>.exp_avg", ...) are views of exactly those elements, so the
// base class's state_dict / load_state_dict work unchanged and give the unfused step's keys.
// Parameters and gradients stay where they are: the kernel reads them through a table of
// slices (a gradient is a fresh tensor after every zero_grad, and Module::to may move a
// parameter), so nothing else has to keep the optimizer's layout in mind.
//
// Each step re-checks the layout against the parameters as they are now. A state tensor that is
// not the expected view (loaded from a checkpoint, made by the unfused step, or on another
// device) is copied into the buffer and replaced by the view; a changed dtype, device or shape
// rebuilds the buckets the same way.

#include "nn/optim/optimizer.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/optim.hpp"
#include "tensor/ops/views.hpp"

namespace cj::nn {

namespace {

struct FlatBucket {
  DType dtype;
  Device device;
  std::vector<std::size_t> params;  // indices into all_params()
  std::vector<Shape> shapes;
  std::vector<int64_t> offsets;
  Tensor moments[3];  // exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad only): 1-d
};

const char* const kMomentNames[3] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};

// The buckets the parameters need now, without buffers.
std::vector<FlatBucket> plan_buckets(const std::vector<Tensor>& params) {
  std::vector<FlatBucket> buckets;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    FlatBucket* bucket = nullptr;
    for (auto& b : buckets)
      if (b.dtype == p.dtype() && b.device == p.device()) bucket = &b;
    if (!bucket) {
      buckets.push_back(FlatBucket{p.dtype(), p.device(), {}, {}, {}, {}});
      bucket = &buckets.back();
    }
    const int64_t offset = bucket->offsets.empty() ? 0 : bucket->offsets.back() + shape_numel(bucket->shapes.back());
    bucket->params.push_back(i);
    bucket->shapes.push_back(p.shape());
    bucket->offsets.push_back(offset);
  }
  return buckets;
}

bool same_layout(const std::vector<FlatBucket>& a, const std::vector<FlatBucket>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].dtype != b[i].dtype || a[i].device != b[i].device || a[i].params != b[i].params ||
        a[i].shapes != b[i].shapes)
      return false;
  return true;
}

int64_t total_numel(const FlatBucket& b) { return b.offsets.back() + shape_numel(b.shapes.back()); }

// Parameter k's elements of a bucket buffer, shaped like the parameter.
Tensor slice_view(const Tensor& buffer, const FlatBucket& b, std::size_t k) {
  return ops::view(ops::narrow(buffer, 0, b.offsets[k], shape_numel(b.shapes[k])), b.shapes[k]);
}

bool is_slice_view(const Tensor& t, const Tensor& buffer, const FlatBucket& b, std::size_t k) {
  return t.storage() == buffer.storage() && t.offset() == buffer.offset() + b.offsets[k] && t.shape() == b.shapes[k] &&
         t.dtype() == buffer.dtype() && t.is_contiguous();
}

}  // namespace

struct Adam::FlatState {
  std::vector<FlatBucket> buckets;
};

void Adam::fused_step() {
  const std::vector<Tensor> params = all_params();
  std::vector<double> lrs, wds;  // per parameter index, from its group
  for (std::size_t g = 0; g < num_groups(); ++g) {
    lrs.insert(lrs.end(), group_params(g).size(), lr(g));
    wds.insert(wds.end(), group_params(g).size(), weight_decay(g));
  }
  const int moments = options_.amsgrad ? 3 : 2;

  std::vector<FlatBucket> wanted = plan_buckets(params);
  if (!flat_ || !same_layout(flat_->buckets, wanted)) {
    // New buffers; state already held (views of the old ones, or loaded tensors) is adopted below.
    for (auto& b : wanted)
      for (int m = 0; m < moments; ++m) b.moments[m] = zeros({total_numel(b)}, {b.dtype, b.device});
    flat_ = std::make_shared<FlatState>(FlatState{std::move(wanted)});
  }

  const ops::AdamConfig config{options_.beta1, options_.beta2, options_.eps, decoupled_, options_.amsgrad};
  for (FlatBucket& bucket : flat_->buckets) {
    std::vector<ops::AdamSlice> slices;
    for (std::size_t k = 0; k < bucket.params.size(); ++k) {
      const std::size_t index = bucket.params[k];
      const Tensor& p = params[index];
      const Tensor grad = p.grad();
      ParamState& state = state_of(index);
      if (state.empty()) {
        if (!grad.defined()) continue;  // as torch: no state until the first gradient
        state["step"] = scalar_tensor(int64_t{0}, DType::i64);
        for (int m = 0; m < moments; ++m) {
          state[kMomentNames[m]] = slice_view(bucket.moments[m], bucket, k);
          ops::zero_(state[kMomentNames[m]]);  // the region may hold a dropped state's values
        }
      }
      for (int m = 0; m < moments; ++m) {  // adopt state that is not yet a view of the buffer
        auto it = state.find(kMomentNames[m]);
        CJ_CHECK(it != state.end(), name_, " (fused): the state of parameter ", index, " has no '", kMomentNames[m],
                 "' (loaded from an optimizer with other options?)");
        if (is_slice_view(it->second, bucket.moments[m], bucket, k)) continue;
        Tensor view = slice_view(bucket.moments[m], bucket, k);
        ops::copy_(view, it->second);
        it->second = view;
      }
      if (!grad.defined()) continue;
      CJ_CHECK(state.count("step"), name_, " (fused): the state of parameter ", index, " has no 'step'");
      Tensor& step_t = state.at("step");
      const int64_t step = step_t.item<int64_t>() + 1;
      ops::fill_(step_t, step);
      slices.push_back(ops::AdamSlice{p, grad, bucket.offsets[k], lrs[index], wds[index], step});
    }
    if (!slices.empty())
      ops::fused_adam_(slices, bucket.moments[0], bucket.moments[1], bucket.moments[2], config);
  }
}

}  // namespace cj::nn
