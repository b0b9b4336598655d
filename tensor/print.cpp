// Tensor::str() and operator<<: the same text torch.Tensor.__repr__ prints with default print options
// (precision 4, linewidth 80, threshold 1000, edgeitems 3), following torch/_tensor_str.py:
//   - one formatter for the whole tensor (or its printed edges when summarised) picks integer mode
//     ("1."), fixed ("1.5000") or scientific ("1.0000e-05") and a common width;
//   - rows wrap at 80 columns, nested dims are separated by dim-1 blank lines;
//   - float32, int64 and bool print no dtype; others add ", dtype=torch.<name>".
// Not modelled: grad_fn names (a tensor that requires grad prints requires_grad=True).
#include <cmath>
#include <cstdio>
#include <ostream>
#include <vector>

#include "tensor/ops/views.hpp"
#include "tensor/tensor.hpp"

namespace cj {

namespace {

constexpr int kPrecision = 4;
constexpr int64_t kLineWidth = 80;
constexpr int64_t kEdgeItems = 3;
constexpr int64_t kThreshold = 1000;

std::string printf_double(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, kPrecision, v);
  return buf;
}

// Python's spelling of non-finite floats (C may print "-nan").
bool nonfinite_str(double v, std::string& out) {
  if (std::isnan(v)) out = "nan";
  else if (std::isinf(v)) out = v > 0 ? "inf" : "-inf";
  else return false;
  return true;
}

std::string fixed_str(double v) {
  std::string s;
  return nonfinite_str(v, s) ? s : printf_double("%.*f", v);
}
std::string sci_str(double v) {
  std::string s;
  return nonfinite_str(v, s) ? s : printf_double("%.*e", v);
}
std::string int_mode_str(double v) {
  std::string s;
  if (nonfinite_str(v, s)) return s;
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.0f.", v);
  return buf;
}

// The elements of a tensor as doubles (floats) or int64 (integers, bool), row-major.
struct Values {
  bool floating = false, boolean = false;
  std::vector<double> f;
  std::vector<int64_t> i;
  std::string str_int(int64_t k) const {
    if (boolean) return i[k] ? "True" : "False";
    return std::to_string(i[k]);
  }
};

class Formatter {
 public:
  // `shown`: the flat indices of the elements that will be printed.
  Formatter(const Values& v, const std::vector<int64_t>& shown) : v_(v) {
    if (!v.floating) {
      for (int64_t k : shown) width_ = std::max(width_, v.str_int(k).size());
      return;
    }
    std::vector<double> finite;
    for (int64_t k : shown)
      if (std::isfinite(v.f[k]) && v.f[k] != 0) finite.push_back(v.f[k]);
    if (finite.empty()) return;
    double lo = INFINITY, hi = 0;
    for (double x : finite) {
      lo = std::min(lo, std::fabs(x)), hi = std::max(hi, std::fabs(x));
      if (x != std::ceil(x)) int_mode_ = false;
    }
    sci_ = hi / lo > 1000.0 || hi > 1.0e8 || (!int_mode_ && lo < 1.0e-4);
    for (double x : finite) {
      size_t w = sci_ ? sci_str(x).size() : int_mode_ ? int_mode_str(x).size() : fixed_str(x).size();
      width_ = std::max(width_, w);
    }
  }
  size_t width() const { return width_; }
  std::string format(int64_t k) const {
    std::string s;
    if (!v_.floating) s = v_.str_int(k);
    else if (sci_) s = sci_str(v_.f[k]);
    else if (int_mode_) s = int_mode_str(v_.f[k]);
    else s = fixed_str(v_.f[k]);
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }

 private:
  const Values& v_;
  bool int_mode_ = true, sci_ = false;
  size_t width_ = 1;
};

// Positions printed along a dim of size n: all, or the first and last kEdgeItems when summarising.
std::vector<int64_t> shown_positions(int64_t n, bool summarize) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    if (!summarize || n <= 2 * kEdgeItems || i < kEdgeItems || i >= n - kEdgeItems) out.push_back(i);
  return out;
}

void collect_shown(const Shape& shape, const Shape& strides, size_t d, int64_t base, bool summarize,
                   std::vector<int64_t>& out) {
  if (d == shape.size()) {
    out.push_back(base);
    return;
  }
  for (int64_t i : shown_positions(shape[d], summarize))
    collect_shown(shape, strides, d + 1, base + i * strides[d], summarize, out);
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? sep : "") + parts[i];
  return s;
}

std::string tensor_body(const Shape& shape, const Shape& strides, size_t d, int64_t base, int64_t indent,
                        bool summarize, const Formatter& fmt) {
  const int64_t n = shape[d];
  const bool elide = summarize && n > 2 * kEdgeItems;
  std::vector<std::string> items;
  if (d + 1 == shape.size()) {
    for (int64_t i : shown_positions(n, summarize)) {
      if (elide && i == n - kEdgeItems) items.push_back(" ...");
      items.push_back(fmt.format(base + i * strides[d]));
    }
    const int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / int64_t(fmt.width() + 2));
    std::vector<std::string> lines;
    for (size_t i = 0; i < items.size(); i += size_t(per_line))
      lines.push_back(join({items.begin() + i, items.begin() + std::min(items.size(), i + size_t(per_line))}, ", "));
    return "[" + join(lines, ",\n" + std::string(indent + 1, ' ')) + "]";
  }
  for (int64_t i : shown_positions(n, summarize)) {
    if (elide && i == n - kEdgeItems) items.push_back("...");
    items.push_back(tensor_body(shape, strides, d + 1, base + i * strides[d], indent + 1, summarize, fmt));
  }
  const std::string sep = "," + std::string(shape.size() - d - 1, '\n') + std::string(indent + 1, ' ');
  return "[" + join(items, sep) + "]";
}

std::string tuple_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  const std::string prefix = "tensor(";
  const int64_t indent = int64_t(prefix.size());
  std::vector<std::string> suffixes;
  if (!is_cpu()) suffixes.push_back("device='" + device().str() + "'");
  const bool default_dtype = dtype() == DType::f32 || dtype() == DType::i64 || dtype() == DType::b8;
  std::string body;
  if (numel() == 0) {
    if (dim() != 1) suffixes.push_back("size=" + tuple_str(shape()));
    if (dtype() != DType::f32) suffixes.push_back(std::string("dtype=torch.") + dtype_name(dtype()));
    body = "[]";
  } else {
    if (!default_dtype) suffixes.push_back(std::string("dtype=torch.") + dtype_name(dtype()));
    Values v;
    v.floating = is_floating(dtype());
    v.boolean = dtype() == DType::b8;
    Tensor host = ops::contiguous(ops::to(*this, Device::cpu()));
    if (v.floating) {
      Tensor d = ops::to(host, DType::f64);
      v.f.assign(d.data<double>(), d.data<double>() + numel());
    } else {
      Tensor d = ops::to(host, DType::i64);
      v.i.assign(d.data<int64_t>(), d.data<int64_t>() + numel());
    }
    const bool summarize = numel() > kThreshold;
    const Shape strides = contiguous_strides(shape());
    std::vector<int64_t> shown;
    collect_shown(shape(), strides, 0, 0, summarize, shown);
    Formatter fmt(v, shown);
    body = dim() == 0 ? fmt.format(0) : tensor_body(shape(), strides, 0, 0, indent, summarize, fmt);
  }
  if (requires_grad()) suffixes.push_back("requires_grad=True");
  // torch's _add_suffixes: a suffix that would pass column 80 goes on its own line
  std::string out = prefix + body;
  size_t nl = out.rfind('\n');
  int64_t last_line = int64_t(nl == std::string::npos ? out.size() + 2 : out.size() - nl + 1);
  for (const std::string& s : suffixes) {
    if (last_line + int64_t(s.size()) + 2 > kLineWidth) {
      out += ",\n" + std::string(indent, ' ') + s;
      last_line = indent + int64_t(s.size());
    } else {
      out += ", " + s;
      last_line += int64_t(s.size()) + 2;
    }
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace cj
