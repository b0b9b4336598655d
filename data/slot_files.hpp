#pragma once
// Slot files and the Push-T side files, read into memory and checked once.
//
// Two slot layouts, detected from the file's content:
//   - the reference's pickle (reference spec §4.1): {split: {video: float32 [T, N, D]}}, e.g.
//     {"train": {"0_pixels.mp4": ...}, "val": {...}};
//   - ours, safetensors: one tensor per video named "<split>/<video>" (e.g. "train/0_pixels.mp4"),
//     float32 [T, N, D], with metadata "format" = "cjepa-slots" (written by write_slot_safetensors;
//     the metadata is informative, the names are what the reader relies on).
// Push-T side files (spec §4.3) are pickles of the same shape with [T, dim] leaves: action (2-d),
// proprio (4-d), state (7-d).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace cj::data {

// The videos of one split, sorted by name. Every video: (T, N, D) f32, contiguous, finite.
struct SlotVideos {
  std::string file, split;
  std::vector<std::string> names;
  std::vector<Tensor> videos;
  int64_t num_slots = 0, slot_dim = 0;
};

// Every split of a slot file. N and D agree across all videos of all splits.
struct SlotFile {
  std::string path;
  std::map<std::string, SlotVideos> splits;
  // Throws cj::Error naming the file and the splits it has when `split` is missing.
  const SlotVideos& split(const std::string& name) const;
};

// Reads a slot file in either layout. Throws cj::Error naming the file and the video for: a video
// that is not 3-d floating point, videos that disagree on N or D, a NaN or infinite value (with its
// [t, n, d] position), a safetensors name without "<split>/", or a file with no videos.
SlotFile read_slot_file(const std::string& path);

// Writes our safetensors layout: splits[split][video] = (T, N, D) floating tensor (stored as f32).
void write_slot_safetensors(const std::string& path,
                            const std::map<std::string, std::map<std::string, Tensor>>& splits);

// One split of a Push-T side file: episode name -> (T, dim) f32 contiguous.
struct SideSeries {
  std::string file, split, what;  // what: "action", "proprio" or "state", for messages
  std::map<std::string, Tensor> episodes;
  int64_t dim = 0;
  int64_t nan_values = 0;  // NaNs are allowed (the reference zeroes them after normalising)
};

// Reads split `split` of a side file. Throws cj::Error naming the file (and episode) when the split
// is missing, a leaf is not 2-d floating point, episodes disagree on dim, dim differs from
// expected_dim (when > 0), or a value is infinite.
SideSeries read_side_split(const std::string& path, const std::string& split, const std::string& what,
                           int64_t expected_dim = 0);

}  // namespace cj::data
