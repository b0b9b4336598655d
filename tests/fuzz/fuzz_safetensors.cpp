// libFuzzer target: read_safetensors on arbitrary bytes (header length, JSON, offsets, dtypes).
#include <cstdint>

#include "tensor/io/safetensors.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cj::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  try {
    auto f = cj::io::read_safetensors(file.path());
    for (const auto& [name, t] : f.tensors) (void)t.numel();
  } catch (const cj::Error&) {
  }
  return 0;
}
