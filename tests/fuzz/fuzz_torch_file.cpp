// libFuzzer target: the format sniffer, zip reader and torch archive loader on arbitrary bytes.
#include <cstdint>

#include "tensor/io/load.hpp"
#include "tests/fuzz/fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cj::fuzz::InputFile file(data, size);
  if (!file.ok()) return 0;
  try {
    (void)cj::io::load_file(file.path());
  } catch (const cj::Error&) {
  }
  return 0;
}
