// Tile path, pass 1: project every Gaussian once (splat_project.glsl, the gsplat math) into a splat
// record, and report its depth and the rectangle of 16x16-pixel tiles its opacity-aware ellipse
// touches (TILE x TILE pixels). The CPU reads depths and rectangles back, sorts and bins (viewer/gl_renderer.py), and
// splat_tiles_raster.comp blends each tile's list front to back.
// viewer/gl_renderer.py appends splat_project.glsl to the header before this file.

layout(local_size_x = 128) in;

struct Gaussian {
    vec4 mean_opacity;  // xyz metres, opacity 0..1
    vec4 quat;          // w, x, y, z
    vec4 scale;         // xyz metres, w unused
    vec4 color;         // rgb 0..1, a unused
};
layout(std430, binding = 0) readonly buffer Gaussians { Gaussian gaussians[]; };
struct Splat {
    vec4 mean_conic;     // mean2d.xy (pixels, y down), conic.xy
    vec4 conic_opacity;  // conic.z, opacity, half-size in pixels of the box holding every pixel it can touch
    vec4 color;          // rgb, unused
};
layout(std430, binding = 1) writeonly buffer Splats { Splat splats[]; };
// Tile rectangle [x0, x1) x [y0, y1), packed x0 | y0 << 16 and x1 | y1 << 16; empty when culled.
layout(std430, binding = 2) writeonly buffer Rects { uvec2 rects[]; };
layout(std430, binding = 3) writeonly buffer Depths { float depths[]; };

uniform uint u_count;
uniform float u_scale_boost;  // level of detail: sqrt(all / drawn), so fewer splats still cover the figure
uniform ivec2 u_tiles;      // tiles across, down
uniform float u_near;
uniform float u_far;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= u_count) return;
    Gaussian g = gaussians[i];
    float depth = dot(transpose(u_rotation)[2], g.mean_opacity.xyz) + u_translation.z;
    vec2 mean2d = vec2(0.0), axis1, axis2;
    vec3 conic = vec3(0.0);
    bool kept = depth >= u_near && depth <= u_far &&
                project_splat(g.mean_opacity.xyz, g.quat, g.scale.xyz * u_scale_boost, g.mean_opacity.w, false,
                              mean2d, conic, axis1, axis2);
    uvec2 rect = uvec2(0u);
    vec2 radius = vec2(0.0);
    if (kept) {
        // Axis-aligned bounds of the ellipse where opacity * g = ALPHA_MIN: extend * sqrt(diag(cov2d)),
        // with cov2d recovered from the conic (the inverse of a 2x2 is its adjugate over the determinant).
        float det = conic.x * conic.z - conic.y * conic.y;
        vec2 sigma = sqrt(vec2(conic.z, conic.x) / det);
        float extend = min(EXTEND_MAX, sqrt(2.0 * log(g.mean_opacity.w / ALPHA_MIN)));
        radius = extend * sigma;
        // Pixel centres sit at i + 0.5.
        ivec2 lo = clamp(ivec2(floor((mean2d - radius) / float(TILE))), ivec2(0), u_tiles);
        ivec2 hi = clamp(ivec2(floor((mean2d + radius) / float(TILE))) + 1, ivec2(0), u_tiles);
        if (all(lessThan(lo, hi)))
            rect = uvec2(uint(lo.x) | (uint(lo.y) << 16), uint(hi.x) | (uint(hi.y) << 16));
    }
    rects[i] = rect;
    depths[i] = depth;
    splats[i] = Splat(vec4(mean2d, conic.xy), vec4(conic.z, g.mean_opacity.w, radius),
                      vec4(g.color.rgb, 0.0));
}
