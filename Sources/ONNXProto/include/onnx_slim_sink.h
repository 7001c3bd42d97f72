#ifndef ONNX_SLIM_SINK_H
#define ONNX_SLIM_SINK_H
#include <protobuf-c/protobuf-c.h>

/// A ProtobufCBuffer with a context pointer, so Swift can receive packed bytes
/// through `append` and stream them to a file or a zstd encoder.
typedef struct OnnxSlimSink {
    ProtobufCBuffer base;
    void *context;
} OnnxSlimSink;

struct Onnx__TensorProto__Segment;
/// Unpacks a TensorProto.Segment (nested messages have no generated unpack function).
struct Onnx__TensorProto__Segment *onnx_slim_segment_unpack(ProtobufCAllocator *allocator, size_t len, const uint8_t *data);

#endif
