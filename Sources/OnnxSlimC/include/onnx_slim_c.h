#ifndef ONNX_SLIM_C_H
#define ONNX_SLIM_C_H
/* Thin C glue that Swift cannot express directly; everything else lives in Swift. */
#include <stddef.h>
#include <stdint.h>
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

/// Copies `length` bytes at `offset` of `in_fd` to the current position of `out_fd` inside the
/// kernel (copy_file_range, falling back to sendfile, then read/write), so weight bytes never
/// pass through our address space. Returns 0, or -1 with errno set.
int onnx_slim_copy_file_range(int in_fd, int64_t offset, int out_fd, size_t length);

#endif
