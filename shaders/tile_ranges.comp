// Tile path's GPU binning, last step (viewer/gl_renderer.py _gpu_bin_tiles): from the (tile id, Gaussian)
// pairs sorted by tile, the cumulative ranges splat_tiles_raster.comp reads: ranges[t] = the first pair
// whose tile id is >= t, for t = 0..tiles, so tile t's list is [ranges[t], ranges[t + 1]) (empty tiles
// get an empty range). Pair k writes the entries of the tile ids after its predecessor's, up to its own;
// the invocations past the pairs fill the entries before the first pair's tile and after the last's.

layout(local_size_x = 128) in;

layout(std430, binding = 0) readonly buffer Keys { uint keys[]; };  // tile ids, sorted
layout(std430, binding = 5) readonly buffer PairCount { uint pair_count; };  // the tile scan's total
layout(std430, binding = 6) writeonly buffer TileRanges { uint tile_ranges[]; };

uniform uint u_capacity;  // pair slots: at most this many pairs were emitted and sorted
uniform uint u_tiles;     // tiles; tile_ranges holds u_tiles + 1 entries

void main() {
    uint count = min(pair_count, u_capacity);
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;  // the dispatch may be capped: walk in strides
    for (uint k = gl_GlobalInvocationID.x; k < max(count, u_tiles + 1u); k += stride) {
        if (k >= 1u && k < count) {
            uint tile = keys[k];
            for (uint t = keys[k - 1u] + 1u; t <= tile; ++t) tile_ranges[t] = k;
        }
        if (k <= u_tiles) {  // the entries no pair's loop above writes
            if (count == 0u || k <= keys[0]) tile_ranges[k] = 0u;
            else if (k > keys[count - 1u]) tile_ranges[k] = count;
        }
    }
}
