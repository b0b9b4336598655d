#pragma once
// Loads tests/fixtures/pusht (written by tools/make_pusht_fixture.py from gym-pusht and
// stable-worldmodel): reference.json plus the raw little-endian blobs of frames.bin.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cj::test {

struct PushTFixture {
  nlohmann::json doc;
  std::vector<uint8_t> blob;

  static const PushTFixture& get() {
    static const PushTFixture fixture = load();
    return fixture;
  }

  // One named array of frames.bin, flattened.
  template <typename T>
  std::vector<T> array(const std::string& name) const {
    const auto& info = doc.at("blobs").at(name);
    size_t count = 1;
    for (const auto& d : info.at("shape")) count *= d.get<size_t>();
    std::vector<T> out(count);
    size_t offset = info.at("offset").get<size_t>();
    if (offset + count * sizeof(T) > blob.size()) throw std::runtime_error("frames.bin too short for " + name);
    std::memcpy(out.data(), blob.data() + offset, count * sizeof(T));  // the machine is little-endian
    return out;
  }

 private:
  static PushTFixture load() {
    PushTFixture f;
    std::string dir = std::string(CJ_FIXTURE_DIR) + "/pusht/";
    std::ifstream json(dir + "reference.json");
    if (!json) throw std::runtime_error("missing fixture " + dir + "reference.json");
    f.doc = nlohmann::json::parse(json);
    std::ifstream bin(dir + "frames.bin", std::ios::binary);
    f.blob.assign(std::istreambuf_iterator<char>(bin), std::istreambuf_iterator<char>());
    return f;
  }
};

}  // namespace cj::test
