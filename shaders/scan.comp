// Device-wide exclusive prefix sum of uints (tile path's GPU binning, viewer/gl_renderer.py _gpu_scan).
// Two variants from this file (viewer/gl_renderer.py defines SCAN_ADD for the second):
// - block pass: each workgroup scans SCAN_BLOCK consecutive values in place (exclusive) and writes its
//   block's total to sums[workgroup]; the caller scans the sums the same way (recursively, until one
//   block is left, whose sums[0] is the grand total) and then runs
// - add pass (SCAN_ADD): adds each block's scanned sum to its values.
// Standard GLSL 4.30: shared memory and barriers only, so llvmpipe and GPU drivers agree.

layout(local_size_x = 256) in;
#define SCAN_THREADS 256u
#define SCAN_ITEMS 4u
#define SCAN_BLOCK (SCAN_THREADS * SCAN_ITEMS)

layout(std430, binding = 0) buffer Data { uint data[]; };
layout(std430, binding = 1) buffer Sums { uint sums[]; };

uniform uint u_count;  // values in data

#ifdef SCAN_ADD
void main() {
    uint add = sums[gl_WorkGroupID.x];
    uint base = gl_WorkGroupID.x * SCAN_BLOCK;
    for (uint k = gl_LocalInvocationID.x; k < SCAN_BLOCK; k += SCAN_THREADS) {
        uint i = base + k;
        if (i < u_count) data[i] += add;
    }
}
#else
shared uint values[SCAN_BLOCK];
shared uint partial[SCAN_THREADS];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint base = gl_WorkGroupID.x * SCAN_BLOCK;
    for (uint k = t; k < SCAN_BLOCK; k += SCAN_THREADS) {  // coalesced loads
        uint i = base + k;
        values[k] = i < u_count ? data[i] : 0u;
    }
    memoryBarrierShared();
    barrier();
    uint own[SCAN_ITEMS];  // this invocation's SCAN_ITEMS consecutive values, scanned serially
    uint sum = 0u;
    for (uint k = 0u; k < SCAN_ITEMS; ++k) {
        own[k] = sum;
        sum += values[t * SCAN_ITEMS + k];
    }
    partial[t] = sum;
    memoryBarrierShared();
    barrier();
    for (uint offset = 1u; offset < SCAN_THREADS; offset <<= 1) {  // inclusive scan of the invocations' sums
        uint add = t >= offset ? partial[t - offset] : 0u;
        memoryBarrierShared();
        barrier();
        partial[t] += add;
        memoryBarrierShared();
        barrier();
    }
    uint prefix = partial[t] - sum;
    for (uint k = 0u; k < SCAN_ITEMS; ++k) values[t * SCAN_ITEMS + k] = prefix + own[k];
    memoryBarrierShared();
    barrier();
    for (uint k = t; k < SCAN_BLOCK; k += SCAN_THREADS) {
        uint i = base + k;
        if (i < u_count) data[i] = values[k];
    }
    if (t == SCAN_THREADS - 1u) sums[gl_WorkGroupID.x] = partial[t];
}
#endif
