#pragma once
// PyTorch files without Python: torch.save's zip archive (<archive>/data.pkl + <archive>/data/<key>
// storages) and plain pickles (numpy slot files), read into inert value trees; and the rules that
// turn a tree into named tensors (state dicts, Lightning checkpoints, whole pickled modules).
#include <string>

#include "tensor/io/pickle_value.hpp"
#include "tensor/io/tensor_map.hpp"

namespace cj::io {

struct ReadOptions {
  // See UnpickleOptions::unknown_calls_as_records (off: such pickles are refused).
  bool unknown_calls_as_records = false;
};

// A torch.save zip archive (.pt/.pth/.ckpt). Storages are borrowed from the mapped file (zero-copy)
// and shared between the tensors that view them. Throws cj::Error naming the file and the problem.
PickleTree read_torch_archive(const std::string& path, const ReadOptions& options = {});
// A plain pickle file (pickle.dump), e.g. the reference's {split: {video: float32 [T, N, 128]}} slots.
PickleTree read_pickle_file(const std::string& path, const ReadOptions& options = {});

// Parameters and buffers of a pickled nn.Module record (torch.save(model)) by dotted name, exactly
// as model.state_dict() names them: recursing through _modules, skipping None entries and, unless
// asked, buffers registered with persistent=False.
TensorMap flatten_module_record(const Value& module, bool include_non_persistent_buffers = false);

// Named tensors of a tree: a Lightning checkpoint's "state_dict"; a module record's parameters and
// buffers; otherwise every tensor in nested dicts/lists/tuples, named by dotted path
// ({"train": {"a.mp4": array}} -> "train.a.mp4"). Throws cj::Error on duplicate names.
TensorMap tensors_from_tree(const Value& root);

}  // namespace cj::io
