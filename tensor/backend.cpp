#include "tensor/backend.hpp"

#include <mutex>
#include <unordered_map>

namespace cj::backend {

namespace {
struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string, AnyFn> kernels[2];  // indexed by DeviceType
};
Registry& registry() {
  static Registry r;
  return r;
}
}  // namespace

void register_op_erased(DeviceType device, const std::string& op, AnyFn fn) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.kernels[static_cast<int>(device)][op] = fn;
}

AnyFn find_op_erased(DeviceType device, const std::string& op) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto& table = r.kernels[static_cast<int>(device)];
  auto it = table.find(op);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace cj::backend
