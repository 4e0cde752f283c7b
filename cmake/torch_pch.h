// The precompiled header of every torch-using metarl target. Only heavy,
// stable headers belong here; project headers never do.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>
