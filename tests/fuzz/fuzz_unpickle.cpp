// libFuzzer target: the restricted unpickler and the tree walkers on arbitrary bytes. Any outcome
// other than a value tree or a cj::Error (a crash, a sanitizer report, a hang) is a bug.
#include <cstdint>

#include "tensor/io/torch_file.hpp"
#include "tensor/io/unpickler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cj::io::UnpickleOptions options;
  options.source = "fuzz.pkl";
  options.unknown_calls_as_records = size > 0 && (data[0] & 1);
  // Persistent ids resolve to zeroed storages, as a torch archive's records would.
  options.load_storage = [](const std::string&, cj::DType dtype, int64_t numel) {
    CJ_CHECK(numel <= (1 << 20), "fuzz: storage too large");
    auto s = cj::Storage::allocate(size_t(numel) * cj::dtype_size(dtype), cj::Device::cpu());
    return s;
  };
  try {
    cj::io::PickleTree tree = cj::io::unpickle(data, size, options);
    (void)tree.summary();
    (void)cj::io::tensors_from_tree(tree.root());
  } catch (const cj::Error&) {
  }
  return 0;
}
