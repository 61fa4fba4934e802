// Fast path, pass 1: project every visible Gaussian once, in back-to-front order, into a splat record
// for the quad pass (splat_quad.vert). Projecting here rather than in the vertex shader does the EWA
// math once per Gaussian instead of once per quad corner, and llvmpipe runs compute work on all its
// threads but vertex shading on one.
// viewer/gl_renderer.py appends splat_project.glsl to the header before this file.

layout(local_size_x = 128) in;

struct Gaussian {
    vec4 mean_opacity;  // xyz metres, opacity 0..1
    vec4 quat;          // w, x, y, z
    vec4 scale;         // xyz metres, w unused
    vec4 color;         // rgb 0..1, a unused
};
layout(std430, binding = 0) readonly buffer Gaussians { Gaussian gaussians[]; };
layout(std430, binding = 1) readonly buffer Order { uint order[]; };  // back to front, near-culled
struct Splat {
    vec4 mean_conic;     // mean2d.xy (pixels, y down), conic.xy
    vec4 axes;           // axis1.xy, axis2.xy: quad half-axes in pixels
    vec4 color_opacity;  // rgb, opacity; opacity 0 marks a culled splat
    vec4 conic_yy;       // conic.z, unused x3
};
layout(std430, binding = 2) writeonly buffer Splats { Splat splats[]; };

uniform uint u_count;
uniform float u_scale_boost;  // level of detail: sqrt(all / drawn), so fewer splats still cover the figure

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= u_count) return;
    Gaussian g = gaussians[order[i]];
    vec2 mean2d, axis1, axis2;
    vec3 conic;
    bool kept = project_splat(g.mean_opacity.xyz, g.quat, g.scale.xyz * u_scale_boost, g.mean_opacity.w, true,
                              mean2d, conic, axis1, axis2);
    splats[i] = Splat(vec4(mean2d, conic.xy), vec4(axis1, axis2),
                      vec4(g.color.rgb, kept ? g.mean_opacity.w : 0.0), vec4(conic.z, 0.0, 0.0, 0.0));
}
