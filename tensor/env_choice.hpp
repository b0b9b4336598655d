#pragma once
// Switches read from the environment (CJ_ATTENTION, CJ_CONV, CJ_FLASH_MMA, CJ_DROPOUT_MASKS): the
// value of variable `name` picks one of `choices`; unset or empty gives `fallback`, anything else
// is one clear error naming the variable and what it may be.
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>

#include "tensor/error.hpp"

namespace cj {

template <typename T>
T env_choice(const char* name, T fallback, std::initializer_list<std::pair<const char*, T>> choices) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == 0) return fallback;
  std::string expected;
  std::size_t i = 0;
  for (const auto& [text, choice] : choices) {
    if (std::strcmp(value, text) == 0) return choice;
    expected += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + std::string(text);
    ++i;
  }
  fail(name, " must be ", expected, ", got '", value, "'");
}

}  // namespace cj
