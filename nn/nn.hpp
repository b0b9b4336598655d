#pragma once
// Everything nn/ offers, in one include.
#include "nn/checkpoint.hpp"
#include "nn/init.hpp"
#include "nn/layers/attention.hpp"
#include "nn/layers/basic.hpp"
#include "nn/layers/container.hpp"
#include "nn/layers/conv.hpp"
#include "nn/layers/gru.hpp"
#include "nn/layers/transformer.hpp"
#include "nn/losses.hpp"
#include "nn/module.hpp"
#include "nn/optim/optimizer.hpp"
#include "nn/optim/schedule.hpp"
