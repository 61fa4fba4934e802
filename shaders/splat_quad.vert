// Fast path, pass 2: one quad (two indexed triangles, vertices 4i..4i+3) per splat record written by
// splat_project.comp, in back-to-front order. Not instanced: llvmpipe runs each instance as its own
// small draw, which costs more than the whole frame's shading for ~100k splats.

struct Splat {
    vec4 mean_conic;     // mean2d.xy (pixels, y down), conic.xy
    vec4 axes;           // axis1.xy, axis2.xy: quad half-axes in pixels
    vec4 color_opacity;  // rgb, opacity; opacity 0 marks a culled splat
    vec4 conic_yy;       // conic.z, unused x3
};
layout(std430, binding = 2) readonly buffer Splats { Splat splats[]; };

uniform vec2 u_image_size;  // width, height in pixels

flat out vec2 v_mean2d;
flat out vec3 v_conic;
flat out vec4 v_color_opacity;

void main() {
    Splat s = splats[gl_VertexID >> 2];
    vec2 corner = vec2(gl_VertexID & 1, (gl_VertexID >> 1) & 1) * 2.0 - 1.0;
    vec2 pixel = s.mean_conic.xy + corner.x * s.axes.xy + corner.y * s.axes.zw;
    // Pixel y (down) maps to NDC y (up) unflipped: the framebuffer holds the image upside down for
    // OpenGL, so its first row in memory is the image's top row and gl_FragCoord.y is the pixel row.
    gl_Position = s.color_opacity.a > 0.0 ? vec4(pixel / u_image_size * 2.0 - 1.0, 0.0, 1.0)
                                          : vec4(2.0, 2.0, 2.0, 1.0);  // outside the clip volume
    v_mean2d = s.mean_conic.xy;
    v_conic = vec3(s.mean_conic.zw, s.conic_yy.x);
    v_color_opacity = s.color_opacity;
}
