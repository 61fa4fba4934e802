// Fast path: Gaussians live in a storage buffer written once per set_gaussians(); per frame only the
// back-to-front order (indices) is uploaded. One instanced quad per sorted index.

struct Gaussian {
    vec4 mean_opacity;  // xyz metres, opacity 0..1
    vec4 quat;          // w, x, y, z
    vec4 scale;         // xyz metres, w unused
    vec4 color;         // rgb 0..1, a unused
};
layout(std430, binding = 0) readonly buffer Gaussians { Gaussian gaussians[]; };
layout(std430, binding = 1) readonly buffer Order { uint order[]; };

void main() {
    Gaussian g = gaussians[order[gl_InstanceID]];
    emit_splat(g.mean_opacity.xyz, g.quat, g.scale.xyz, g.mean_opacity.w, g.color.rgb, quad_corner(), true);
}
