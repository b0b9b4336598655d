#pragma once
// The message of the cj::Error a call throws ("(no error)" when it throws none), for tests that
// check what an error says.
#include <functional>
#include <string>

#include "tensor/error.hpp"

namespace cj::test {

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace cj::test
