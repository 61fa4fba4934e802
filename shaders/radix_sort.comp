// One pass of a stable LSD radix sort of (key, value) uint pairs, 8 bits (RADIX digits) per pass
// (tile path's GPU binning, viewer/gl_renderer.py _gpu_radix_sort). Two variants from this file:
// - HISTOGRAM: each workgroup counts the digits of its RADIX_BLOCK consecutive pairs into
//   hist[digit * u_blocks + block] (digit-major, so one exclusive scan of hist, scan.comp, gives every
//   (digit, block) its first output slot: all smaller digits first, then this digit in earlier blocks);
// - scatter (no define): each workgroup walks its block again in chunks of RADIX_THREADS pairs, in
//   order, and writes each pair to its slot + its rank among the earlier pairs of the same digit. The
//   rank comes from a per-digit bit mask of the chunk's invocations (shared atomicOr, then bitCount of
//   the bits below), so equal digits keep their order: the pass is stable.
// Standard GLSL 4.30 (shared atomics, bitCount), no subgroup operations.

layout(local_size_x = 256) in;
#define RADIX_THREADS 256u
#define RADIX 256u
#define MASK_WORDS (RADIX_THREADS / 32u)

layout(std430, binding = 0) readonly buffer KeysIn { uint keys_in[]; };
layout(std430, binding = 1) readonly buffer ValuesIn { uint values_in[]; };
layout(std430, binding = 2) writeonly buffer KeysOut { uint keys_out[]; };
layout(std430, binding = 3) writeonly buffer ValuesOut { uint values_out[]; };
layout(std430, binding = 4) buffer Histogram { uint hist[]; };
layout(std430, binding = 5) readonly buffer PairCount { uint pair_count; };  // the tile scan's total

uniform uint u_count;   // pairs, or at most that many if u_count_from_buffer (the rest are ignored)
uniform uint u_count_from_buffer;  // 1: the count is min(u_count, pair_count), known on the GPU only
uniform uint u_shift;   // the digit is (key >> u_shift) & 255
uniform uint u_blocks;  // workgroups (blocks of RADIX_BLOCK pairs)

#ifdef HISTOGRAM
shared uint counts[RADIX];

void main() {
    uint t = gl_LocalInvocationID.x;
    counts[t] = 0u;
    memoryBarrierShared();
    barrier();
    uint base = gl_WorkGroupID.x * RADIX_BLOCK;
    uint count = u_count_from_buffer != 0u ? min(u_count, pair_count) : u_count;
    uint end = min(base + RADIX_BLOCK, count);
    for (uint i = base + t; i < end; i += RADIX_THREADS) atomicAdd(counts[(keys_in[i] >> u_shift) & 255u], 1u);
    memoryBarrierShared();
    barrier();
    hist[t * u_blocks + gl_WorkGroupID.x] = counts[t];
}
#else
shared uint masks[RADIX * MASK_WORDS];  // digit d: bits of the chunk's invocations holding d
shared uint next_slot[RADIX];           // digit d: where this block's next pair of digit d goes

void main() {
    uint t = gl_LocalInvocationID.x;
    next_slot[t] = hist[t * u_blocks + gl_WorkGroupID.x];
    uint base = gl_WorkGroupID.x * RADIX_BLOCK;
    uint count = u_count_from_buffer != 0u ? min(u_count, pair_count) : u_count;
    uint end = min(base + RADIX_BLOCK, count);
    uint word = t >> 5, below = (1u << (t & 31u)) - 1u;
    for (uint first = base; first < end; first += RADIX_THREADS) {  // uniform: every invocation runs it
        for (uint w = 0u; w < MASK_WORDS; ++w) masks[t * MASK_WORDS + w] = 0u;
        memoryBarrierShared();
        barrier();
        uint i = first + t;
        bool valid = i < end;
        uint key = 0u, digit = 0u;
        if (valid) {
            key = keys_in[i];
            digit = (key >> u_shift) & 255u;
            atomicOr(masks[digit * MASK_WORDS + word], 1u << (t & 31u));
        }
        memoryBarrierShared();
        barrier();
        if (valid) {
            uint rank = uint(bitCount(masks[digit * MASK_WORDS + word] & below));
            for (uint w = 0u; w < word; ++w) rank += uint(bitCount(masks[digit * MASK_WORDS + w]));
            uint slot = next_slot[digit] + rank;
            keys_out[slot] = key;
            values_out[slot] = values_in[i];
        }
        memoryBarrierShared();
        barrier();
        uint chunk_count = 0u;  // invocation t advances digit t past this chunk's pairs
        for (uint w = 0u; w < MASK_WORDS; ++w) chunk_count += uint(bitCount(masks[t * MASK_WORDS + w]));
        next_slot[t] += chunk_count;
        memoryBarrierShared();
        barrier();
    }
}
#endif
