// Tile path's GPU binning, the per-Gaussian steps around the sorts (viewer/gl_renderer.py
// _gpu_bin_tiles). One invocation per Gaussian; three variants from this file:
// - DEPTH_KEYS: sort keys for the depth sort, the depth's float bits made monotone as uint (culled
//   Gaussians, which touch no tile, last), values the Gaussian indices;
// - TILE_COUNTS: tiles touched by the Gaussian at depth rank r (counts[r], scanned next into offsets);
// - EMIT: the Gaussian at depth rank r writes one (tile id, Gaussian index) pair per tile of its
//   rectangle from offsets[r] on. The pairs are then in depth order, so a stable sort by tile id leaves
//   each tile's list front to back: gsplat's (tile, depth) order, ties by Gaussian index.
// Rectangles come from splat_tiles_project.comp: [x0, x1) x [y0, y1) packed x | y << 16, empty if culled.

layout(local_size_x = 128) in;

layout(std430, binding = 0) buffer Counts { uint counts[]; };          // TILE_COUNTS out, EMIT in
layout(std430, binding = 1) buffer Order { uint order[]; };            // DEPTH_KEYS out, else in
layout(std430, binding = 2) readonly buffer Rects { uvec2 rects[]; };
layout(std430, binding = 3) readonly buffer Depths { float depths[]; };
layout(std430, binding = 4) writeonly buffer Keys { uint keys[]; };    // DEPTH_KEYS, EMIT out
layout(std430, binding = 5) writeonly buffer Values { uint values[]; };// EMIT out

uniform uint u_count;    // Gaussians
uniform uint u_tiles_x;  // tiles across
uniform uint u_capacity; // EMIT: pair slots; pairs past them are dropped (the CPU grows the buffers and redoes the frame)

uint tile_area(uvec2 rect) {
    return ((rect.y & 0xFFFFu) - (rect.x & 0xFFFFu)) * ((rect.y >> 16) - (rect.x >> 16));
}

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= u_count) return;
#if defined(DEPTH_KEYS)
    uint bits = floatBitsToUint(depths[i]);
    // IEEE order as unsigned: flip every bit of negatives, only the sign bit of positives.
    uint key = (bits & 0x80000000u) != 0u ? ~bits : bits | 0x80000000u;
    keys[i] = tile_area(rects[i]) > 0u ? key : 0xFFFFFFFFu;
    order[i] = i;
#elif defined(TILE_COUNTS)
    counts[i] = tile_area(rects[order[i]]);
#elif defined(EMIT)
    uint g = order[i];
    uvec2 rect = rects[g];
    uint x0 = rect.x & 0xFFFFu, y0 = rect.x >> 16, x1 = rect.y & 0xFFFFu, y1 = rect.y >> 16;
    uint slot = counts[i];
    for (uint y = y0; y < y1; ++y)
        for (uint x = x0; x < x1 && slot < u_capacity; ++x) {
            keys[slot] = y * u_tiles_x + x;
            values[slot] = g;
            ++slot;
        }
#endif
}
