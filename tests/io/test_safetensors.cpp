// safetensors: reading the library's own files, round trips of every dtype and layout, zero-copy,
// and one clear error (naming the file) for every kind of damage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tensor/io/mapped_file.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops/creation.hpp"
#include "tests/io/io_test_util.hpp"

using namespace cj;
using namespace cj::io;
using test::expect_error;
using test::ScratchFile;

namespace {

// A safetensors file from a header object and a data section, exactly as given (no padding).
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + data;
}

TensorMap every_dtype() {
  TensorMap m;
  m["f32"] = from_vector<float>({1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f}, {2, 3});
  m["f64"] = from_vector<double>({1e300, -2.5, 3.0}, {3});
  m["bf16"] = from_vector<bf16>({bf16(1.f), bf16(-0.5f), bf16(3.f), bf16(1e20f)}, {2, 2});
  m["f16"] = from_vector<f16>({f16(65504.f), f16(-0.25f), f16(1e-6f)}, {3});
  m["i64"] = from_vector<int64_t>({int64_t(1) << 40, -1, 7}, {3, 1});
  m["i32"] = from_vector<int32_t>({-5, 1 << 30}, {2});
  m["u8"] = from_vector<uint8_t>({0, 255, 128}, {3});
  m["bool"] = from_vector<bool>({true, false, true, true}, {2, 2});
  m["scalar"] = from_vector<float>({42.f}, {});
  m["empty"] = from_vector<float>(std::vector<float>{}, {0, 4});
  return m;
}

}  // namespace

TEST(Safetensors, ReadsTheLibrarysFileWithMetadata) {
  auto f = read_safetensors(test::fixture("state_dict.safetensors"));
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.metadata.at("source"), "file_formats.py");
  EXPECT_EQ(f.tensors.size(), 15u);
  EXPECT_EQ(to_vector<int64_t>(f.tensors.at("index")), (std::vector<int64_t>{0, -1, int64_t(1) << 40, 7}));
  EXPECT_EQ(to_vector<float>(f.tensors.at("shared_a")), (std::vector<float>{1, 1.5, 2, 2.5, 3, 3.5}));
  EXPECT_EQ(f.tensors.at("bfloat").dtype(), DType::bf16);
  EXPECT_EQ(f.tensors.at("mask").dtype(), DType::b8);
  EXPECT_EQ(f.tensors.at("scalar").shape(), Shape{});
  EXPECT_EQ(f.tensors.at("empty").shape(), (Shape{0, 3}));
}

TEST(Safetensors, RoundTripsEveryDtypeAndLayout) {
  TensorMap m = every_dtype();
  Tensor base = from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  m["transposed"] = ops::transpose(base, 0, 1);
  m["sliced"] = ops::slice(base, 1, 1, 4, 2);
  ScratchFile file("roundtrip.safetensors");
  write_safetensors(file.path(), m, {{"note", "hello"}, {"step", "7"}});
  auto back = read_safetensors(file.path());
  test::expect_same_tensors(back.tensors, m, "round trip");
  EXPECT_EQ(back.metadata, (Metadata{{"note", "hello"}, {"step", "7"}}));
  for (const auto& [name, t] : back.tensors) EXPECT_TRUE(t.is_contiguous()) << name;
}

TEST(Safetensors, AlignedTensorsBorrowTheMappingAndWritesStayPrivate) {
  ScratchFile file("zero_copy.safetensors");
  write_safetensors(file.path(), every_dtype());
  const std::string before = read_file_bytes(file.path());
  {
    auto f = read_safetensors(file.path());
    const Tensor& t = f.tensors.at("f64");
    // Borrowed: the storage is exactly the tensor's bytes, inside the file's mapping.
    EXPECT_EQ(t.storage()->nbytes(), 24u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 8, 0u);
    // Copy-on-write: modifying a loaded tensor never touches the file.
    t.data<double>()[0] = -1;
    EXPECT_EQ(t.data<double>()[0], -1);
  }
  EXPECT_EQ(read_file_bytes(file.path()), before);
}

TEST(Safetensors, MisalignedDataIsCopiedNotReadInPlace) {
  // Unpadded header: the data starts at an odd byte of the (page-aligned) mapping.
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  while ((8 + header.size()) % 4 != 1) header += ' ';
  float values[2] = {1.25f, -3.5f};
  ScratchFile file("misaligned.safetensors");
  file.write(safetensors_bytes(header, std::string(reinterpret_cast<const char*>(values), 8)));
  auto f = read_safetensors(file.path());
  const Tensor& t = f.tensors.at("a");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 4, 0u);
  EXPECT_EQ(to_vector<float>(t), (std::vector<float>{1.25f, -3.5f}));
}

TEST(Safetensors, WriteIsAtomicAndLeavesNoTemporaryFile) {
  ScratchFile file("atomic.safetensors");
  file.write("old contents");
  write_safetensors(file.path(), every_dtype());
  EXPECT_EQ(read_safetensors(file.path()).tensors.size(), every_dtype().size());
  EXPECT_NE(access((file.path() + ".tmp." + std::to_string(getpid())).c_str(), F_OK), 0);
  // A failed write (reserved name) leaves the previous file intact.
  TensorMap bad;
  bad["__metadata__"] = from_vector<float>({1}, {1});
  expect_error([&] { write_safetensors(file.path(), bad); }, {file.path(), "reserved"});
  EXPECT_EQ(read_safetensors(file.path()).tensors.size(), every_dtype().size());
}

TEST(Safetensors, TruncationAtEveryLengthIsOneClearError) {
  ScratchFile full("full.safetensors");
  write_safetensors(full.path(), every_dtype());
  const std::string bytes = read_file_bytes(full.path());
  ScratchFile cut("cut.safetensors");
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    cut.write(bytes.substr(0, len));
    try {
      read_safetensors(cut.path());
      ADD_FAILURE() << "truncated to " << len << " bytes but read without error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(cut.path()), std::string::npos) << e.what();
    }
  }
}

TEST(Safetensors, HeaderProblemsNameTheFileAndTheProblem) {
  ScratchFile file("bad.safetensors");
  auto expect = [&](const std::string& bytes, std::initializer_list<std::string> pieces) {
    file.write(bytes);
    std::vector<std::string> all{file.path()};
    all.insert(all.end(), pieces.begin(), pieces.end());
    try {
      read_safetensors(file.path());
      ADD_FAILURE() << "no error; expected " << *pieces.begin();
    } catch (const Error& e) {
      for (const auto& p : all) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  };
  std::string eight_floats(32, '\0');
  // Header length past the end, or absurd.
  std::string past = safetensors_bytes("{}", "");
  past[0] = 100;
  expect(past, {"header length 100 runs past the end"});
  expect(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10), {"exceeds the 100 MB limit"});
  expect("abc", {"shorter than the 8-byte header length"});
  // JSON and structure.
  expect(safetensors_bytes("{\"a\": [1,", ""), {"not valid JSON"});
  expect(safetensors_bytes("[1, 2]", ""), {"must be a JSON object"});
  expect(safetensors_bytes(R"({"a": 3})", ""), {"tensor 'a'", "expected an object"});
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2]}})", ""), {"tensor 'a'", "missing \"data_offsets\""});
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", eight_floats),
         {"tensor 'a'", "non-negative integers"});
  expect(safetensors_bytes(R"({"__metadata__": {"k": 1}})", ""), {"metadata value for 'k' must be a string"});
  // Dtypes.
  expect(safetensors_bytes(R"({"a": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}})", eight_floats),
         {"tensor 'a'", "unknown dtype 'Q7'"});
  expect(safetensors_bytes(R"({"a": {"dtype": "I16", "shape": [4], "data_offsets": [0, 8]}})", eight_floats),
         {"tensor 'a'", "'I16'", "no cj dtype"});
  // Shape versus offsets.
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", eight_floats),
         {"tensor 'a'", "needs 12 bytes", "hold 8"});
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}})", eight_floats),
         {"tensor 'a'", "too many elements"});
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", eight_floats),
         {"tensor 'a'", "end before they begin"});
  // Overlaps, gaps, out of range.
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", eight_floats),
         {"tensor 'b'", "overlaps tensor 'a'"});
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})", eight_floats),
         {"gap", "tensor 'a'"});
  expect(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [8], "data_offsets": [8, 40]}})", eight_floats),
         {"tensor 'b'", "runs past the end of the data section", "truncated"});
}

TEST(Safetensors, WriteRefusesUndefinedTensors) {
  ScratchFile file("undefined.safetensors");
  TensorMap m;
  m["x"] = Tensor();
  expect_error([&] { write_safetensors(file.path(), m); }, {file.path(), "'x'", "undefined"});
}
