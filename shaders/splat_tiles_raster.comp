// Tile path, pass 2: one TILE x TILE workgroup per tile (TILE from viewer/gl_renderer.py), one
// invocation per pixel. Each pixel walks its tile's splats front to back exactly as gsplat's
// rasterize_to_pixels does (alpha clamp, ALPHA_MIN skip, stop before the fragment that would take
// transmittance to T_MIN), so this path reproduces gsplat's early stop, which back-to-front blending
// cannot. As in gsplat, the workgroup loads the list in batches into shared memory (one splat per
// invocation) and stops loading once every pixel of the tile is done. Compute work runs on every
// llvmpipe thread and skips the per-triangle setup that dominates the quad paths there.

layout(local_size_x = TILE, local_size_y = TILE) in;
const uint BATCH = uint(TILE * TILE);

struct Splat {
    vec4 mean_conic;     // mean2d.xy (pixels, y down), conic.xy
    vec4 conic_opacity;  // conic.z, opacity, half-size in pixels of the box holding every pixel it can touch
    vec4 color;          // rgb, unused
};
layout(std430, binding = 1) readonly buffer Splats { Splat splats[]; };
layout(std430, binding = 6) readonly buffer TileRanges { uint tile_ranges[]; };  // tiles + 1 offsets
layout(std430, binding = 7) readonly buffer TileLists { uint tile_lists[]; };    // splat ids, front to back
layout(std430, binding = 2) writeonly buffer Pixels { uint pixels[]; };          // RGBA8, top row first

uniform ivec2 u_size;        // width, height
uniform int u_tiles_x;
uniform vec4 u_background;   // straight rgba

shared vec4 batch_mean_conic[BATCH];
shared vec4 batch_conic_opacity[BATCH];
shared vec3 batch_color[BATCH];
shared uint batch_box[BATCH];  // the splat's pixel box inside this tile: x0, x1, y0, y1 (inclusive), 8 bits each
shared uint pixels_done;

void main() {
    ivec2 pixel = ivec2(gl_GlobalInvocationID.xy);
    bool inside = pixel.x < u_size.x && pixel.y < u_size.y;
    uint tile = gl_WorkGroupID.y * uint(u_tiles_x) + gl_WorkGroupID.x;
    vec2 centre = vec2(pixel) + 0.5;
    uvec2 local = gl_LocalInvocationID.xy;
    float T = 1.0;
    vec3 premultiplied = vec3(0.0);
    bool done = !inside;
    if (gl_LocalInvocationIndex == 0u) pixels_done = 0u;
    memoryBarrierShared();
    barrier();
    if (done) atomicAdd(pixels_done, 1u);
    uint begin = tile_ranges[tile], end = tile_ranges[tile + 1u];
    for (uint first = begin; first < end; first += BATCH) {
        memoryBarrierShared();
        barrier();  // the previous batch is consumed, pixels_done is up to date and uniform until the next
        if (pixels_done == BATCH) break;
        uint k = first + gl_LocalInvocationIndex;
        if (k < end) {
            Splat s = splats[tile_lists[k]];
            batch_mean_conic[gl_LocalInvocationIndex] = s.mean_conic;
            batch_conic_opacity[gl_LocalInvocationIndex] = s.conic_opacity;
            batch_color[gl_LocalInvocationIndex] = s.color.rgb;
            // Pixels whose centre (i + 0.5) lies within the half-size of the mean, widened by a pixel
            // for rounding; every other pixel of the tile gets alpha < ALPHA_MIN from this splat.
            vec2 origin = vec2(gl_WorkGroupID.xy * uint(TILE));
            vec2 lo = s.mean_conic.xy - s.conic_opacity.zw - origin - 0.5;
            vec2 hi = s.mean_conic.xy + s.conic_opacity.zw - origin - 0.5;
            ivec2 first_pixel = clamp(ivec2(floor(lo)) - 1, ivec2(0), ivec2(TILE));
            ivec2 last_pixel = clamp(ivec2(ceil(hi)) + 1, ivec2(-1), ivec2(TILE - 1));
            batch_box[gl_LocalInvocationIndex] = uint(first_pixel.x) | (uint(last_pixel.x + 1) << 8)
                                                 | (uint(first_pixel.y) << 16) | (uint(last_pixel.y + 1) << 24);
        }
        memoryBarrierShared();
        barrier();
        uint count = min(BATCH, end - first);
        for (uint j = 0u; !done && j < count; ++j) {
            // The cheap test first: on llvmpipe the loads below cost most, and lanes that skip here skip them.
            uint box = batch_box[j];
            if (local.x < (box & 255u) || local.x >= ((box >> 8) & 255u) ||
                local.y < ((box >> 16) & 255u) || local.y >= (box >> 24)) continue;
            vec4 mean_conic = batch_mean_conic[j];
            vec4 conic_opacity = batch_conic_opacity[j];
            vec2 d = mean_conic.xy - centre;
            float sigma = 0.5 * (mean_conic.z * d.x * d.x + conic_opacity.x * d.y * d.y)
                          + mean_conic.w * d.x * d.y;
            float alpha = min(ALPHA_MAX, conic_opacity.y * exp(-sigma));
            if (sigma < 0.0 || alpha < ALPHA_MIN) continue;
            float next_T = T * (1.0 - alpha);
            if (next_T <= T_MIN) {
                done = true;
                atomicAdd(pixels_done, 1u);
                break;
            }
            premultiplied += batch_color[j] * (alpha * T);
            T = next_T;
        }
    }
    if (!inside) return;
    // Over the background and un-premultiplied: viewer.reference.composite_over.
    float alpha = (1.0 - T) + T * u_background.a;
    vec3 rgb = premultiplied + T * u_background.a * u_background.rgb;
    pixels[pixel.y * u_size.x + pixel.x] = packUnorm4x8(alpha > 0.0 ? vec4(rgb / alpha, alpha) : vec4(0.0));
}
