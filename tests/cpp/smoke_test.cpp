#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rectifiers.h"

TEST(Smoke, ReluMatchesTorch) {
  auto x = torch::randn({4, 5});
  EXPECT_TRUE(torch::equal(rectifiers::relu(x), torch::relu(x)));
}
