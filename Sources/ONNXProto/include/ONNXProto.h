#include "onnx.pb-c.h"
#include "onnx_slim_sink.h"
