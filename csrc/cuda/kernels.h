// CUDA loops for the frontend (see common/frontend.h for the contract).
#pragma once

#include "../common/backend.h"

namespace rectifiers::cuda {

struct Kernels {
  RECTIFIERS_BACKEND_LOOPS
};

}  // namespace rectifiers::cuda
