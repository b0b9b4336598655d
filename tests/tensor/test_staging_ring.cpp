// cuda/staging_ring.hpp: the bookkeeping behind the pinned upload ring (cuda/transfer.cpp), with a
// simulated device: fences are sequence numbers that finish in order (one stream), `finished` is
// the newest finished one, and waiting on a fence finishes it and everything before it.
// The ring must never hand out bytes that a copy still in flight reads, and must wait for no more
// than that.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "cuda/staging_ring.hpp"
#include "tests/error_of.hpp"

using cj::cuda::StagingRing;

namespace {

struct Region {
  std::size_t begin, end;
  int fence;
};

struct SimulatedDevice {
  int finished = 0;  // fences 1..finished are done
  int issued = 0;
  std::vector<int> waits;  // fences the ring waited on, in order
  std::vector<Region> regions;

  StagingRing<int> ring;
  explicit SimulatedDevice(std::size_t capacity) : ring(capacity) {}

  // reserve + commit of n bytes, checking the answer against every region still in flight
  std::size_t upload(std::size_t n, bool only_needed_waits = true) {
    int needed = 0;  // the newest unfinished fence whose region the answer may overlap, known after
    waits.clear();
    const std::size_t at = ring.reserve(
        n, [&](int f) { return f <= finished; },
        [&](int f) {
          waits.push_back(f);
          finished = std::max(finished, f);
        });
    EXPECT_LE(at + n, ring.capacity());
    for (const Region& r : regions)
      if (r.begin < at + n && at < r.end) needed = std::max(needed, r.fence);
    EXPECT_LE(needed, finished) << "bytes [" << at << ", " << at + n << ") handed out while fence " << needed
                                << " still reads them";
    if (only_needed_waits) {
      for (int w : waits)
        EXPECT_LE(w, needed) << "waited on fence " << w << " although only " << needed << " had to finish";
    }
    EXPECT_TRUE(std::is_sorted(waits.begin(), waits.end())) << "waits oldest first";
    ring.commit(++issued);
    regions.push_back({at, at + n, issued});
    return at;
  }
};

TEST(StagingRing, FillsInOrderThenWaitsOnlyForTheRegionItReuses) {
  SimulatedDevice d(1024);
  EXPECT_EQ(d.upload(100), 0u);
  EXPECT_EQ(d.upload(100), 256u);  // starts stay 256-byte aligned
  EXPECT_EQ(d.upload(256), 512u);
  EXPECT_EQ(d.upload(200), 768u);
  EXPECT_TRUE(d.waits.empty());
  EXPECT_EQ(d.upload(10), 0u);  // laps: the first copy must be done, and nothing more
  EXPECT_EQ(d.waits, std::vector<int>({1}));
  EXPECT_EQ(d.finished, 1);
}

TEST(StagingRing, SkipsATailTooShortAndWaitsForWhatTheNewRegionCovers) {
  SimulatedDevice d(1024);
  EXPECT_EQ(d.upload(300), 0u);  // [0, 300), head 512
  EXPECT_EQ(d.upload(200), 512u);  // [512, 712), head 768
  EXPECT_EQ(d.upload(400), 0u);  // 768 + 400 > 1024: wraps over fence 1 only
  EXPECT_EQ(d.waits, std::vector<int>({1}));
  EXPECT_EQ(d.upload(300), 512u);  // [512, 812) covers fence 2's region
  EXPECT_EQ(d.waits, std::vector<int>({2}));
}

TEST(StagingRing, FinishedCopiesAreReleasedWithoutWaiting) {
  SimulatedDevice d(1024);
  for (int i = 0; i < 4; ++i) d.upload(256);
  d.finished = 4;  // the device caught up
  EXPECT_EQ(d.upload(1024), 0u);
  EXPECT_TRUE(d.waits.empty());
  EXPECT_EQ(d.ring.busy_regions(), 1u);
}

TEST(StagingRing, ManyTinyUploadsHoldABoundedNumberOfFences) {
  SimulatedDevice d(std::size_t(1) << 30);  // room enough that only the bound can force a wait
  for (std::size_t i = 0; i < StagingRing<int>::kMaxBusy + 10; ++i) d.upload(1, /*only_needed_waits=*/false);
  EXPECT_LE(d.ring.busy_regions(), StagingRing<int>::kMaxBusy);
  EXPECT_EQ(d.finished, 10);  // each of the last ten waited for the oldest one
}

TEST(StagingRing, RefusesRegionsThatCannotFit) {
  StagingRing<int> ring(1024);
  const auto never = [](int) { return false; };
  const auto ignore = [](int) {};
  EXPECT_NE(cj::test::error_of([&] { ring.reserve(1025, never, ignore); }).find("1025 bytes does not fit its 1024"),
            std::string::npos);
  EXPECT_NE(cj::test::error_of([&] { ring.reserve(0, never, ignore); }).find("staging ring"), std::string::npos);
}

// Random sizes, a device that lags by a random amount: every answer is checked in upload().
TEST(StagingRing, RandomUploadsNeverOverwriteACopyInFlight) {
  for (std::size_t capacity : {std::size_t(1024), std::size_t(4096 + 100), std::size_t(1) << 16}) {
    SimulatedDevice d(capacity);
    std::mt19937 gen{static_cast<unsigned>(capacity)};
    std::uniform_int_distribution<std::size_t> size(1, capacity);
    std::uniform_int_distribution<std::size_t> small(1, capacity / 8);
    std::uniform_int_distribution<int> lag(0, 3);
    for (int step = 0; step < 5000; ++step) {
      d.upload(step % 3 == 0 ? size(gen) : small(gen));
      d.finished = std::max(d.finished, d.issued - lag(gen) * 2);
    }
  }
}

}  // namespace
