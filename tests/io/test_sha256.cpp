// SHA-256 against the FIPS 180-4 / NIST example vectors, incremental updates, and the manifest
// against hashes Python's hashlib computed for the fixture tensors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tensor/io/load.hpp"
#include "tensor/io/manifest.hpp"
#include "tensor/io/mapped_file.hpp"
#include "tensor/io/sha256.hpp"
#include "tensor/ops/creation.hpp"
#include "tests/io/io_test_util.hpp"

using namespace cj;
using namespace cj::io;

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  EXPECT_EQ(sha256_hex(four.data(), four.size()), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million.data(), million.size()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalUpdatesMatchOneShotAtEveryPaddingBoundary) {
  std::string data;
  for (int i = 0; i < 200; ++i) data += char(i * 7 + 3);
  for (std::size_t len : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200}) {
    std::string want = sha256_hex(data.data(), len);
    for (std::size_t chunk : {1, 3, 64, 100}) {
      Sha256 h;
      for (std::size_t i = 0; i < len; i += chunk) h.update(data.data() + i, std::min(chunk, len - i));
      EXPECT_EQ(h.hex_digest(), want) << "len " << len << " chunk " << chunk;
    }
  }
}

TEST(Manifest, MatchesHashlibOnEveryFixtureTensor) {
  auto tensors = load_tensors(test::fixture("state_dict.pt"));
  auto want = nlohmann::json::parse(read_file_bytes(test::fixture("state_dict.manifest.json")));
  auto entries = make_manifest(tensors);
  ASSERT_EQ(entries.size(), want["tensors"].size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& w = want["tensors"][i];
    EXPECT_EQ(entries[i].name, w["name"].get<std::string>());
    EXPECT_EQ(dtype_name(entries[i].dtype), w["dtype"].get<std::string>()) << entries[i].name;
    EXPECT_EQ(entries[i].shape, w["shape"].get<Shape>()) << entries[i].name;
    EXPECT_EQ(entries[i].sha256, w["sha256"].get<std::string>()) << entries[i].name;
  }
  // The written manifest is the same JSON document.
  test::ScratchFile out("manifest.json");
  write_manifest(out.path(), tensors);
  EXPECT_EQ(nlohmann::json::parse(read_file_bytes(out.path())), want);
}

TEST(Manifest, HashesLogicalElementsNotTheStorage) {
  Tensor base = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = ops::transpose(base, 0, 1);  // non-contiguous view
  Tensor copy = from_vector<float>({1, 4, 2, 5, 3, 6}, {3, 2});
  EXPECT_EQ(tensor_sha256(t), tensor_sha256(copy));
  EXPECT_NE(tensor_sha256(t), tensor_sha256(base));
}
