#pragma once
// Everything the tensor library offers, in one include.
#include "tensor/dispatch.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/linalg.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/ops/views.hpp"
#include "tensor/random.hpp"
#include "tensor/tensor.hpp"
