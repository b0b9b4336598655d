// cpu_memory_stats(): the bytes of CPU storage alive and their peak since reset_cpu_peak_memory(),
// which bench/ reports for CPU runs as torch.cuda.max_memory_allocated is reported for GPU runs.
#include <gtest/gtest.h>

#include "tensor/ops.hpp"
#include "tensor/storage.hpp"

using namespace cj;

TEST(CpuMemoryStats, CountsLiveBytesAndTheirPeak) {
  const int64_t base = cpu_memory_stats().allocated;
  reset_cpu_peak_memory();
  EXPECT_EQ(cpu_memory_stats().peak_allocated, base);
  {
    Tensor a = Tensor::empty({1000}, DType::f32);  // 4000 bytes
    EXPECT_EQ(cpu_memory_stats().allocated, base + 4000);
    {
      Tensor b = Tensor::empty({250}, DType::f64);  // 2000 more
      Tensor view = ops::narrow(b, 0, 10, 5);       // a view allocates nothing
      EXPECT_EQ(cpu_memory_stats().allocated, base + 6000);
    }
    EXPECT_EQ(cpu_memory_stats().allocated, base + 4000);
    EXPECT_EQ(cpu_memory_stats().peak_allocated, base + 6000);
  }
  EXPECT_EQ(cpu_memory_stats().allocated, base);
  EXPECT_EQ(cpu_memory_stats().peak_allocated, base + 6000);
  reset_cpu_peak_memory();
  EXPECT_EQ(cpu_memory_stats().peak_allocated, base);
}
