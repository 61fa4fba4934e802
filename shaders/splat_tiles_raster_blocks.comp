// Tile path, pass 2 for software GL (Mesa llvmpipe): the same pixels as splat_tiles_raster.comp, laid
// out for a CPU. One invocation per TILE x TILE tile (TILE = 4 here), BLOCK_TILES (8) side by side per
// workgroup. llvmpipe runs the eight invocations as the lanes of one SIMD register and fetches every
// storage-buffer value lane by lane (~20 cycles each, even when all lanes read the same address), so
// the GPU kernel's one-pixel-per-invocation layout loads each splat once per pixel. Here each lane
// loads a splat of its own tile's list once and evaluates all 16 pixels of the tile with it, as four
// vec4 rows: loads per pixel fall 16-fold and the 4x4 tiles keep the evaluated pixels close to the
// splats' real footprints (measured on the default avatar at 512^2: ~9 ms instead of ~190 ms).
// Each pixel walks its tile's list front to back as gsplat's rasterize_to_pixels does: alpha clamp,
// ALPHA_MIN skip, and the stop before the fragment that would take transmittance to T_MIN; a lane
// leaves its list once all 16 of its pixels have stopped.

#if TILE != 4
#error the per-tile kernel evaluates 4 x 4 pixels (rows of one vec4)
#endif
layout(local_size_x = BLOCK_TILES) in;

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

void write_pixel(int x, int y, float T, vec3 premultiplied) {
    if (x >= u_size.x || y >= u_size.y) return;
    // Over the background and un-premultiplied: viewer.reference.composite_over.
    float alpha = (1.0 - T) + T * u_background.a;
    vec3 rgb = premultiplied + T * u_background.a * u_background.rgb;
    pixels[y * u_size.x + x] = packUnorm4x8(alpha > 0.0 ? vec4(rgb / alpha, alpha) : vec4(0.0));
}

void main() {
    int tile_x = int(gl_GlobalInvocationID.x), tile_y = int(gl_WorkGroupID.y);
    if (tile_x >= u_tiles_x) return;
    uint tile = uint(tile_y * u_tiles_x + tile_x);
    int x0 = tile_x * TILE, y0 = tile_y * TILE;
    vec4 centre_x = float(x0) + vec4(0.5, 1.5, 2.5, 3.5);  // pixel centres of a row
    // Per row of the tile: transmittance (negated once the pixel has stopped) and premultiplied colour.
    vec4 T[TILE], r[TILE], g[TILE], b[TILE];
    for (int row = 0; row < TILE; ++row) {
        T[row] = vec4(1.0);
        r[row] = g[row] = b[row] = vec4(0.0);
    }
    uint begin = tile_ranges[tile], end = tile_ranges[tile + 1u];
    for (uint k = begin; k < end; ++k) {
        Splat s = splats[tile_lists[k]];
        float taking = 0.0;  // pixels still taking fragments after this splat
        for (int row = 0; row < TILE; ++row) {
            float dy = s.mean_conic.y - (float(y0 + row) + 0.5);
            vec4 dx = s.mean_conic.x - centre_x;
            vec4 sigma = dx * (0.5 * s.mean_conic.z * dx + s.mean_conic.w * dy) + 0.5 * s.conic_opacity.x * dy * dy;
            vec4 alive = step(vec4(0.0), T[row]);
            vec4 alpha = min(vec4(ALPHA_MAX), s.conic_opacity.y * exp(-sigma));
            alpha *= step(vec4(ALPHA_MIN), alpha) * step(vec4(0.0), sigma) * alive;
            vec4 next_T = T[row] * (1.0 - alpha);
            // The fragment that would take T to T_MIN or below is dropped, and the pixel takes no more.
            vec4 keep = alive * (1.0 - step(next_T, vec4(T_MIN)));
            vec4 weight = alpha * T[row] * keep;
            r[row] += weight * s.color.r;
            g[row] += weight * s.color.g;
            b[row] += weight * s.color.b;
            T[row] = keep * next_T + (1.0 - keep) * T[row] * (1.0 - 2.0 * alive);  // stopping: T -> -T
            taking += dot(keep, vec4(1.0));
        }
        if (taking == 0.0) break;
    }
    for (int row = 0; row < TILE; ++row)
        for (int i = 0; i < 4; ++i)
            write_pixel(x0 + i, y0 + row, abs(T[row][i]), vec3(r[row][i], g[row][i], b[row][i]));
}
