#include "tensor/io/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "tensor/io/byte_reader.hpp"
#include "tensor/io/mapped_file.hpp"
#include "tensor/ops/views.hpp"

namespace cj::io {

namespace {

struct DTypeName {
  DType dtype;
  const char* name;
};
constexpr DTypeName kNames[] = {{DType::f64, "F64"}, {DType::f32, "F32"}, {DType::f16, "F16"},
                                {DType::bf16, "BF16"}, {DType::i64, "I64"}, {DType::i32, "I32"},
                                {DType::u8, "U8"},    {DType::b8, "BOOL"}};
// Valid safetensors dtypes that have no cj dtype.
constexpr const char* kUnsupported[] = {"I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",
                                        "F6_E2M3", "F6_E3M2", "C64"};

// The safetensors reference implementation refuses headers above 100 MB; so do we, before allocating.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // relative to the start of the data section
};

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& j) {
  const std::string where = path + ": tensor '" + name + "'";
  CJ_CHECK(j.is_object(), where, ": expected an object {dtype, shape, data_offsets}, got ", j.type_name());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    CJ_CHECK(j.contains(key), where, ": missing \"", key, "\"");
  CJ_CHECK(j["dtype"].is_string(), where, ": \"dtype\" must be a string");
  Entry e;
  e.name = name;
  try {
    e.dtype = dtype_from_safetensors_name(j["dtype"].get<std::string>());
  } catch (const Error& err) {
    fail(where, ": ", err.what());
  }
  const auto& shape = j["shape"];
  CJ_CHECK(shape.is_array(), where, ": \"shape\" must be an array of non-negative integers");
  for (const auto& s : shape) {
    CJ_CHECK(s.is_number_unsigned() && s.get<uint64_t>() <= uint64_t(INT64_MAX), where,
             ": \"shape\" must be an array of non-negative integers, got ", shape.dump());
    e.shape.push_back(static_cast<int64_t>(s.get<uint64_t>()));
  }
  const auto& offs = j["data_offsets"];
  CJ_CHECK(offs.is_array() && offs.size() == 2 && offs[0].is_number_unsigned() && offs[1].is_number_unsigned(), where,
           ": \"data_offsets\" must be [begin, end] with non-negative integers, got ", offs.dump());
  e.begin = offs[0].get<uint64_t>();
  e.end = offs[1].get<uint64_t>();
  CJ_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
  int64_t numel = checked_numel(e.shape, where);
  uint64_t expected = 0;
  CJ_CHECK(!__builtin_mul_overflow(uint64_t(numel), uint64_t(dtype_size(e.dtype)), &expected), where,
           ": shape ", e.shape, " is too large");
  CJ_CHECK(e.end - e.begin == expected, where, ": shape ", e.shape, " of ", j["dtype"].get<std::string>(),
           " needs ", expected, " bytes but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);
  return e;
}

nlohmann::json parse_header_json(const std::string& path, const uint8_t* p, std::size_t n) {
  try {
    return nlohmann::json::parse(p, p + n);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": the safetensors header is not valid JSON: ", e.what());
  }
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  for (const auto& n : kNames)
    if (n.dtype == dtype) return n.name;
  fail("safetensors: no name for dtype ", dtype_name(dtype));
}

DType dtype_from_safetensors_name(const std::string& name) {
  for (const auto& n : kNames)
    if (name == n.name) return n.dtype;
  for (const char* u : kUnsupported)
    CJ_CHECK(name != u, "dtype '", name, "' is valid safetensors but has no cj dtype (supported: F64, F32, F16, BF16, I64, I32, U8, BOOL)");
  fail("unknown dtype '", name, "' (expected one of F64, F32, F16, BF16, I64, I32, U8, BOOL)");
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto file = MappedFile::open(path);
  const std::size_t size = file->size();
  CJ_CHECK(size >= 8, path, ": not a safetensors file: ", size, " bytes is shorter than the 8-byte header length");
  ByteReader reader(file->data(), size, path);
  uint64_t header_len = reader.u64le();
  CJ_CHECK(header_len <= kMaxHeaderBytes, path, ": header length ", header_len, " exceeds the 100 MB limit (not a safetensors file?)");
  CJ_CHECK(header_len <= size - 8, path, ": header length ", header_len, " runs past the end of the file (",
           size, " bytes); the file is truncated or not safetensors");
  nlohmann::json header = parse_header_json(path, file->data() + 8, header_len);
  CJ_CHECK(header.is_object(), path, ": the safetensors header must be a JSON object, got ", header.type_name());

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      CJ_CHECK(value.is_object(), path, ": \"__metadata__\" must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        CJ_CHECK(v.is_string(), path, ": metadata value for '", k, "' must be a string, got ", v.type_name());
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value));
  }

  // The data section must be covered exactly: sorted by begin, each tensor starts where the
  // previous one ended (overlaps and gaps are both corruption), and the last ends inside the file.
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  std::vector<const Entry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected_begin = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : order) {
    CJ_CHECK(e->begin >= expected_begin, path, ": data of tensor '", e->name, "' [", e->begin, ", ", e->end,
             ") overlaps tensor '", previous ? previous->name : "", "' which ends at ", expected_begin);
    CJ_CHECK(e->begin == expected_begin, path, ": gap in the data section: bytes [", expected_begin, ", ",
             e->begin, ") before tensor '", e->name, "' belong to no tensor");
    CJ_CHECK(e->end <= data_size, path, ": data of tensor '", e->name, "' [", e->begin, ", ", e->end,
             ") runs past the end of the data section (", data_size, " bytes); the file is truncated");
    expected_begin = e->end;
    previous = e;
  }

  for (const auto& e : entries) {
    const std::size_t nbytes = e.end - e.begin;
    const std::size_t abs_begin = data_start + e.begin;
    const std::size_t esize = dtype_size(e.dtype);
    std::shared_ptr<Storage> storage;
    if (reinterpret_cast<uintptr_t>(file->data() + abs_begin) % esize == 0) {
      storage = MappedFile::borrow(file, abs_begin, nbytes);
    } else {  // misaligned elements would be undefined behaviour to read in place
      storage = Storage::allocate(nbytes, Device::cpu());
      if (nbytes) std::memcpy(storage->data(), file->data() + abs_begin, nbytes);
    }
    out.tensors[e.name] = Tensor::make(std::move(storage), e.dtype, e.shape, contiguous_strides(e.shape), 0);
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  std::vector<std::pair<std::string, Tensor>> order;
  for (const auto& [name, t] : tensors) {
    CJ_CHECK(t.defined(), path, ": cannot write tensor '", name, "': it is undefined");
    CJ_CHECK(t.is_cpu(), path, ": cannot write tensor '", name, "': it is on ", t.device().str(),
             "; move it to the CPU first");
    CJ_CHECK(name != "__metadata__", path, ": '__metadata__' is reserved and cannot name a tensor");
    order.emplace_back(name, ops::contiguous(t));
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second.element_size() > b.second.element_size();
  });

  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    uint64_t nbytes = uint64_t(t.numel()) * t.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(t.dtype())}, {"shape", t.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  uint8_t len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

  AtomicFileWriter out(path);
  out.write(len_bytes, 8);
  out.write(text.data(), text.size());
  for (const auto& [name, t] : order)
    if (t.numel() > 0) out.write(t.data_ptr(), uint64_t(t.numel()) * t.element_size());
  out.commit();
}

}  // namespace cj::io
