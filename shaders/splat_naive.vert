// Naive baseline: all attributes re-uploaded every frame, already in back-to-front order, as
// per-instance vertex attributes; square quads. Same math and pixels as splat_ssbo.vert.

in vec4 i_mean_opacity;
in vec4 i_quat;
in vec4 i_scale;
in vec4 i_color;

void main() {
    emit_splat(i_mean_opacity.xyz, i_quat, i_scale.xyz, i_mean_opacity.w, i_color.rgb, quad_corner(), false);
}
