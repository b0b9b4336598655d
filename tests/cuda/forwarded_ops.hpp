#pragma once
// The op names the public ops forward to a device kernel, read from the sources: every
// CJ_FORWARD_TO_DEVICE(Sig, "name", ...) under tensor/. Reading the text (rather than a list kept by
// hand) means a newly forwarded op is checked the moment it is written.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace cj::test {

// name -> the file that forwards it (for the failure message).
inline std::map<std::string, std::string> forwarded_op_names(const std::string& source_dir) {
  const std::string macro = "CJ_FORWARD_TO_DEVICE(";
  std::map<std::string, std::string> names;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(source_dir + "/tensor")) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (size_t at = s.find(macro); at != std::string::npos; at = s.find(macro, at + macro.size())) {
      if (s.rfind("#define", at) != std::string::npos && s.rfind('\n', at) < s.rfind("#define", at)) continue;
      // the op name is the call's first string literal (a signature holds none)
      const size_t open = s.find('"', at), close = s.find('"', open + 1);
      if (open == std::string::npos || close == std::string::npos) break;
      names[s.substr(open + 1, close - open - 1)] = entry.path().filename().string();
    }
  }
  return names;
}

}  // namespace cj::test
