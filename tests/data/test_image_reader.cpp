// Still images: stb's decoding against Pillow's (tools/fixtures/image_preprocess.py), and one clear
// error for every kind of bad file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/image_reader.hpp"
#include "tensor/error.hpp"
#include "tensor/io/safetensors.hpp"
#include "tensor/ops.hpp"

using namespace cj;

namespace {

const std::string kImages = std::string(CJ_FIXTURE_DIR) + "/data/images/";

const io::SafetensorsFile& pillow() {
  static const io::SafetensorsFile f = io::read_safetensors(std::string(CJ_FIXTURE_DIR) + "/data/images.safetensors");
  return f;
}

std::vector<char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_temp(const std::string& name, const std::vector<char>& bytes) {
  const std::string path = ::testing::TempDir() + "cj_image_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

// The error read_image throws for `path` (fails the test when it does not throw).
std::string read_error(const std::string& path) {
  try {
    data::read_image(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

}  // namespace

TEST(ImageReader, PngGreyAndAlphaMatchPillowExactly) {
  for (const char* name : {"frame_0.png", "gray.png", "rgba.png"}) {
    SCOPED_TRACE(name);
    const Tensor got = data::read_image(kImages + name);
    const Tensor want = pillow().tensors.at(name);
    ASSERT_EQ(got.dtype(), DType::u8);
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(to_vector<int>(got), to_vector<int>(want));
  }
}

TEST(ImageReader, JpegMatchesPillowWithinDecoderRounding) {
  // stb and libjpeg-turbo (Pillow) use different IDCT and chroma-upsampling arithmetic; measured on
  // this file: at most 3 levels apart, 0.12 on average.
  const Tensor got = data::read_image(kImages + "frame_1.jpg");
  const Tensor want = pillow().tensors.at("frame_1.jpg");
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.shape(), (Shape{24, 32, 3}));
  auto a = to_vector<int>(got), b = to_vector<int>(want);
  int worst = 0;
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i])), sum += std::abs(a[i] - b[i]);
  EXPECT_LE(worst, 3);
  EXPECT_LE(sum / double(a.size()), 0.2);
}

TEST(ImageReader, ExtensionsItReads) {
  EXPECT_TRUE(data::has_image_extension("a/b/frame.PNG"));
  EXPECT_TRUE(data::has_image_extension("x.jpeg"));
  EXPECT_TRUE(data::has_image_extension("x.Jpg"));
  EXPECT_FALSE(data::has_image_extension("video.mp4"));
  EXPECT_FALSE(data::has_image_extension("dir.png/file"));
  EXPECT_FALSE(data::has_image_extension("png"));
}

TEST(ImageReader, BadFilesGiveOneClearError) {
  std::string msg = read_error("/nonexistent/frame.png");
  EXPECT_NE(msg.find("cannot open '/nonexistent/frame.png'"), std::string::npos) << msg;

  msg = read_error(kImages);
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;

  const std::string text = write_temp("text.png", {'h', 'e', 'l', 'l', 'o'});
  msg = read_error(text);
  EXPECT_NE(msg.find(text), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a readable PNG or JPEG"), std::string::npos) << msg;
  std::remove(text.c_str());

  const std::string empty = write_temp("empty.jpg", {});
  EXPECT_NE(read_error(empty).find("is empty"), std::string::npos);
  std::remove(empty.c_str());

  for (const char* name : {"frame_0.png", "frame_1.jpg"}) {
    std::vector<char> bytes = file_bytes(kImages + name);
    ASSERT_GT(bytes.size(), 100u);
    for (size_t keep : {bytes.size() / 2, bytes.size() - 2, size_t(20)}) {
      SCOPED_TRACE(std::string(name) + " cut to " + std::to_string(keep));
      const std::string cut = write_temp(std::string("cut_") + name, {bytes.begin(), bytes.begin() + long(keep)});
      msg = read_error(cut);
      EXPECT_NE(msg.find(cut), std::string::npos) << msg;
      std::remove(cut.c_str());
    }
  }
  const std::vector<char> jpeg = file_bytes(kImages + "frame_1.jpg");
  const std::string cut = write_temp("cut_end.jpg", {jpeg.begin(), jpeg.end() - 2});
  EXPECT_NE(read_error(cut).find("end-of-image marker"), std::string::npos);
  std::remove(cut.c_str());
}
