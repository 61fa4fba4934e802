"""avatar-studio command line: the studio (no subcommand), render, export, bench.

Every user-facing failure is one line on stderr and a non-zero exit; see `core.errors`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.errors import AvatarStudioError

EXIT_USER_ERROR = 2


def _add_avatar_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("avatar")
    g.add_argument("--seed", type=int, default=0, help="avatar seed (default 0)")
    g.add_argument("--body", default="anny", help="body model: anny (default, free) or smplx")
    g.add_argument("--body-dir", type=Path, help="folder with SMPLX_NEUTRAL.npz and smplx_uv.obj (--body smplx)")
    g.add_argument("--gender", default="neutral", choices=["neutral", "male", "female"],
                   help="SMPL-X model file to use (--body smplx)")


def _add_pose_option(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--pose", default=default, choices=["t", "a", "relaxed"],
                   help=f"pose preset (default: {default or 'canonical rest pose'})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avatar-studio",
        description="Explore and edit generative 3D Gaussian-splat human avatars. "
                    "Without a subcommand, opens the studio window.",
    )
    _add_avatar_options(parser)
    parser.add_argument("--screenshot", type=Path, help="run --frames frames, save a PNG of the window, exit")
    parser.add_argument("--frames", type=int, default=30, help="frames to run before --screenshot (default 30)")
    parser.add_argument("--window-size", type=int, nargs=2, default=(1400, 860), metavar=("W", "H"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    render = sub.add_parser("render", help="render an avatar to a PNG, headless (EGL, no display needed)")
    _add_avatar_options(render)
    _add_pose_option(render, "relaxed")
    render.add_argument("--out", type=Path, required=True, help="output PNG")
    render.add_argument("--ply", type=Path, help="render this 3DGS PLY (ours or any other) instead of an avatar")
    render.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("W", "H"))
    render.add_argument("--yaw", type=float, default=0.0, help="degrees; 0 = front, 90 = avatar's left side")
    render.add_argument("--pitch", type=float, default=0.0, help="degrees; positive looks down from above")
    render.add_argument("--background", type=float, nargs=4, default=(0.16, 0.16, 0.18, 1.0),
                        metavar=("R", "G", "B", "A"), help="0..1 each; A=0 for a transparent PNG")

    export = sub.add_parser("export", help="export an avatar (3DGS PLY)")
    _add_avatar_options(export)
    _add_pose_option(export, None)
    export.add_argument("--ply", type=Path, required=True, help="output 3DGS PLY")
    export.add_argument("--sh-degree", type=int, default=0, choices=[0, 1, 2, 3],
                        help="pad f_rest with zeros up to this SH degree for viewers that need it")

    bench = sub.add_parser("bench", help="time rendering, sorting and skinning (prints a table)")
    _add_avatar_options(bench)
    bench.add_argument("--sizes", type=int, nargs="+", default=[512, 1024], help="square viewport sizes")
    bench.add_argument("--frames", type=int, default=30, help="frames per measurement")
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser


def load_avatar(args: argparse.Namespace):
    from core.body import load_body
    from core.default_avatar import default_avatar

    body = load_body(args.body, args.body_dir, args.gender)
    return default_avatar(body, seed=args.seed)


def _pose(args: argparse.Namespace):
    from core.pose import Pose

    return Pose.preset(args.pose) if args.pose else None


def cmd_render(args: argparse.Namespace) -> int:
    import imageio.v3 as iio

    from core.atomic import atomic_write, check_writable
    from viewer.camera import OrbitCamera
    from viewer.gl_renderer import GLSplatRenderer

    if args.out.suffix.lower() != ".png":
        raise AvatarStudioError(f"{args.out}: render writes PNG files, use a .png name")
    check_writable(args.out)
    width, height = args.size
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise AvatarStudioError(f"--size {width} {height}: each side must be 16..8192 pixels")
    renderer = GLSplatRenderer()
    if args.ply is not None:
        from core.ply import read_ply

        gaussians = read_ply(args.ply)
    else:
        gaussians = load_avatar(args).posed(_pose(args))
    camera = OrbitCamera()
    camera.frame(gaussians.means.min(0).values.tolist(), gaussians.means.max(0).values.tolist(), width / height)
    camera.yaw_deg, camera.pitch_deg = args.yaw, args.pitch
    renderer.set_gaussians(gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities, gaussians.colors)
    image = renderer.render(camera, width, height, background=tuple(args.background))
    with atomic_write(args.out) as f:
        iio.imwrite(f, image, extension=".png")
    print(f"wrote {args.out} ({width}x{height}, {len(gaussians)} Gaussians)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from core.atomic import check_writable
    from core.ply import write_ply

    if args.ply.suffix.lower() != ".ply":
        raise AvatarStudioError(f"{args.ply}: use a .ply name for a 3DGS PLY")
    check_writable(args.ply)
    avatar = load_avatar(args)
    gaussians = avatar.posed(_pose(args))
    write_ply(args.ply, gaussians, sh_degree=args.sh_degree)
    lo, hi = gaussians.means.min(0).values, gaussians.means.max(0).values
    print(f"wrote {args.ply}: {len(gaussians)} Gaussians, bounds {[round(v, 3) for v in lo.tolist()]} .. "
          f"{[round(v, 3) for v in hi.tolist()]} m")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from viewer.bench import run_bench

    return run_bench(load_avatar(args), sizes=args.sizes, frames=args.frames, as_json=args.json)


def cmd_studio(args: argparse.Namespace) -> int:
    from app.studio import StudioOptions, run_studio

    if args.screenshot is not None:
        from core.atomic import check_writable

        check_writable(args.screenshot)
    return run_studio(StudioOptions(
        seed=args.seed, body=args.body, body_dir=args.body_dir, gender=args.gender,
        screenshot=args.screenshot, frames=args.frames, window_size=tuple(args.window_size),
    ))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    args = build_parser().parse_args(argv)
    command = {"render": cmd_render, "export": cmd_export, "bench": cmd_bench}.get(args.command, cmd_studio)
    try:
        return command(args)
    except AvatarStudioError as e:
        print(f"avatar-studio: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("avatar-studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
