// env_choice: the environment switches (CJ_ATTENTION, CJ_CONV, CJ_FLASH_MMA, CJ_DROPOUT_MASKS) read
// one way: unset or empty is the fallback, a listed value its choice, anything else one clear error.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tensor/env_choice.hpp"
#include "tests/error_of.hpp"

using namespace cj;

namespace {
enum class Path { automatic, fast, safe };
Path read() { return env_choice("CJ_TEST_PATH", Path::automatic, {{"fast", Path::fast}, {"safe", Path::safe}, {"auto", Path::automatic}}); }
}  // namespace

TEST(EnvChoice, FallbackChoicesAndOneClearError) {
  ::unsetenv("CJ_TEST_PATH");
  EXPECT_EQ(read(), Path::automatic);
  ::setenv("CJ_TEST_PATH", "", 1);
  EXPECT_EQ(read(), Path::automatic);
  ::setenv("CJ_TEST_PATH", "safe", 1);
  EXPECT_EQ(read(), Path::safe);
  ::setenv("CJ_TEST_PATH", "fast", 1);
  EXPECT_EQ(read(), Path::fast);
  ::setenv("CJ_TEST_PATH", "Fast", 1);
  EXPECT_EQ(test::error_of([] { read(); }), "CJ_TEST_PATH must be fast, safe or auto, got 'Fast'");
  ::setenv("CJ_TEST_PATH", "2", 1);
  EXPECT_EQ(test::error_of([] { env_choice("CJ_TEST_PATH", true, {{"1", true}, {"0", false}}); }),
            "CJ_TEST_PATH must be 1 or 0, got '2'");
  ::unsetenv("CJ_TEST_PATH");
}
