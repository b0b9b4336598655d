#pragma once
// The differentiable tensor API that models use: every op of tensor/ops with the same name and
// meaning, recording its backward when an input requires grad, plus the engine, the grad-mode
// guards and gradcheck. Creation (zeros, arange, from_vector, ...) and random draws come along.
#include "autograd/autocast.hpp"
#include "autograd/engine.hpp"
#include "autograd/function.hpp"
#include "autograd/grad_mode.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/nn.hpp"
#include "autograd/ops/reduction.hpp"
#include "autograd/ops/views.hpp"
#include "tensor/ops/creation.hpp"
#include "tensor/random.hpp"
