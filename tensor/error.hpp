#pragma once
// The one exception type of the engine: every bad input (shape mismatch, out-of-range dim or index,
// dtype misuse, malformed file) throws cj::Error whose message names the op, what it got and what
// it expected.
#include <sstream>
#include <stdexcept>
#include <string>

namespace cj {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: cj::fail("matmul: ", a.shape(), " vs ", b.shape()).
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  throw Error(os.str());
}

}  // namespace cj

// CJ_CHECK(cond, pieces...): throw cj::Error with the pieces when cond is false.
#define CJ_CHECK(cond, ...)         \
  do {                              \
    if (!(cond)) ::cj::fail(__VA_ARGS__); \
  } while (0)
