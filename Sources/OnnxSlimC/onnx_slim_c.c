#define _GNU_SOURCE
#include "include/onnx_slim_c.h"
#include "onnx.pb-c.h"
#include <errno.h>
#include <sys/sendfile.h>
#include <unistd.h>

Onnx__TensorProto__Segment *onnx_slim_segment_unpack(ProtobufCAllocator *allocator, size_t len, const uint8_t *data) {
    return (Onnx__TensorProto__Segment *)protobuf_c_message_unpack(&onnx__tensor_proto__segment__descriptor, allocator, len, data);
}

static int copy_with_read_write(int in_fd, off_t offset, int out_fd, size_t length) {
    char buffer[1 << 16];
    while (length > 0) {
        size_t want = length < sizeof buffer ? length : sizeof buffer;
        ssize_t n = pread(in_fd, buffer, want, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { if (n == 0) errno = EIO; return -1; }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out_fd, buffer + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return -1;
            done += w;
        }
        offset += n;
        length -= (size_t)n;
    }
    return 0;
}

int onnx_slim_copy_file_range(int in_fd, int64_t offset, int out_fd, size_t length) {
    off_t in_off = (off_t)offset;
    int use_sendfile = 0;
    while (length > 0) {
        ssize_t n = use_sendfile ? sendfile(out_fd, in_fd, &in_off, length)
                                 : copy_file_range(in_fd, &in_off, out_fd, NULL, length, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && !use_sendfile && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
            use_sendfile = 1;
            continue;
        }
        if (n < 0 && use_sendfile && (errno == EINVAL || errno == ENOSYS)) {
            return copy_with_read_write(in_fd, in_off, out_fd, length);
        }
        if (n < 0) return -1;
        if (n == 0) { errno = EIO; return -1; }
        length -= (size_t)n;
    }
    return 0;
}
