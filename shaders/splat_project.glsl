// EWA projection of one Gaussian into a screen-space quad: the math of gsplat 1.5.3
// fully_fused_projection (pinhole camera, "classic" rasterize mode).
// Included by splat_project.comp and splat_naive.vert; viewer/gl_renderer.py prepends the
// "#version" line and the constants ALPHA_MIN, ALPHA_MAX, EPS2D, EXTEND_MAX (from viewer/reference.py).
// Near/far culling happens on the CPU while sorting, so every Gaussian drawn has depth > near.

uniform mat3 u_rotation;     // world -> OpenCV camera (x right, y down, z forward)
uniform vec3 u_translation;
uniform vec4 u_intrinsics;   // fx, fy, cx, cy in pixels
uniform vec2 u_image_size;   // width, height in pixels

mat3 quat_to_rotmat(vec4 q) {  // q = (w, x, y, z), normalised here as gsplat does
    q *= inversesqrt(dot(q, q));
    float w = q.x, x = q.y, y = q.z, z = q.w;
    return mat3(
        1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y),   // column 0
        2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x),   // column 1
        2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y));  // column 2
}

// Projects one Gaussian; false when it is culled (opacity below ALPHA_MIN, or a degenerate 2D covariance).
// mean2d is in pixels, y down, pixel centres at i + 0.5 (as gsplat); conic = inverse 2D covariance
// (xx, xy, yy). The quad is mean2d + s * axis1 + t * axis2 for s, t in [-1, 1]:
// tight: the rectangle along the 2D covariance's eigenvectors that circumscribes the ellipse where
//   opacity * g = ALPHA_MIN (half-axes extend * sqrt(eigenvalue), extend = sqrt(2 ln(opacity / ALPHA_MIN)),
//   gsplat's opacity-aware extent); every pixel outside it has alpha < ALPHA_MIN and is skipped anyway.
// not tight: the classic axis-aligned square of half-size EXTEND_MAX * sqrt(largest eigenvalue).
bool project_splat(vec3 mean, vec4 quat, vec3 scale, float opacity, bool tight,
                   out vec2 mean2d, out vec3 conic, out vec2 axis1, out vec2 axis2) {
    mean2d = vec2(0.0); conic = vec3(0.0); axis1 = vec2(0.0); axis2 = vec2(0.0);
    if (opacity < ALPHA_MIN) return false;

    mat3 R = quat_to_rotmat(quat);
    mat3 M = mat3(R[0] * scale.x, R[1] * scale.y, R[2] * scale.z);
    mat3 cov_c = u_rotation * (M * transpose(M)) * transpose(u_rotation);
    vec3 p = u_rotation * mean + u_translation;

    // Jacobian of the perspective map at p, with x/z, y/z clamped to 1.3x the field of view.
    float fx = u_intrinsics.x, fy = u_intrinsics.y, cx = u_intrinsics.z, cy = u_intrinsics.w;
    vec2 tan_fov = 0.5 * u_image_size / vec2(fx, fy);
    vec2 lim_pos = (u_image_size - vec2(cx, cy)) / vec2(fx, fy) + 0.3 * tan_fov;
    vec2 lim_neg = vec2(cx, cy) / vec2(fx, fy) + 0.3 * tan_fov;
    float rz = 1.0 / p.z;
    vec2 t = p.z * min(lim_pos, max(-lim_neg, p.xy * rz));
    mat3x2 J = mat3x2(fx * rz, 0.0, 0.0, fy * rz, -fx * t.x * rz * rz, -fy * t.y * rz * rz);
    mat2 cov2d = J * cov_c * transpose(J);
    cov2d[0][0] += EPS2D;  // low-pass filter: every splat covers about a pixel
    cov2d[1][1] += EPS2D;
    float a = cov2d[0][0], b = cov2d[0][1], c = cov2d[1][1];
    float det = a * c - b * b;
    if (det <= 0.0) return false;

    mean2d = vec2(fx * p.x * rz + cx, fy * p.y * rz + cy);
    conic = vec3(c, -b, a) / det;
    float lambda1 = 0.5 * (a + c) + sqrt(0.25 * (a - c) * (a - c) + b * b);
    if (tight) {
        float extend = min(EXTEND_MAX, sqrt(2.0 * log(opacity / ALPHA_MIN)));
        // Direction of the major axis; atan(0, 0) is undefined, and any axis suits a circle.
        float theta = (b != 0.0 || a != c) ? 0.5 * atan(2.0 * b, a - c) : 0.0;
        vec2 major = vec2(cos(theta), sin(theta));
        float lambda2 = det / lambda1;  // stabler than the difference for thin splats
        axis1 = extend * sqrt(lambda1) * major;
        axis2 = extend * sqrt(lambda2) * vec2(-major.y, major.x);
    } else {
        axis1 = vec2(EXTEND_MAX * sqrt(lambda1), 0.0);
        axis2 = vec2(0.0, axis1.x);
    }
    return true;
}

