#include "include/onnx_slim_sink.h"
#include "include/onnx.pb-c.h"

/* Nested messages get no generated unpack function; this one is used for TensorProto.segment. */
Onnx__TensorProto__Segment *onnx_slim_segment_unpack(ProtobufCAllocator *allocator, size_t len, const uint8_t *data) {
    return (Onnx__TensorProto__Segment *)protobuf_c_message_unpack(&onnx__tensor_proto__segment__descriptor, allocator, len, data);
}
