"""The built-up status layer IBU (SPEC 8, ATBD 4.4.2): RIBUD thresholded at IBU_THRESHOLD."""

import numpy as np

from ..errors import ImperviousnessError
from ..io.encoding import IBU_THRESHOLD, NODATA
from ..io.raster import RasterInput, RasterWriter, count_blocks, iter_blocks
from ..products import styles
from ..progress import StepProgress


def run_builtup(ribud, output, threshold=IBU_THRESHOLD, feedback=None):
    """IBU = RIBUD >= THRESHOLD (ATBD 4.4.2): Byte 1 built-up, 0 not, 255 nodata; returns the grid.

    RIBUD must hold densities 0..100 (percent) with 255 (or the declared nodata) as nodata; the
    threshold is in percent, so the default 10 keeps pixels of 10 % and more.
    """
    if not 0 <= threshold <= 100:
        raise ImperviousnessError(f"THRESHOLD must lie in 0..100 (percent), not {threshold:g}.")
    source = RasterInput(ribud, "RIBUD")
    grid = source.grid
    block = 1024
    progress = StepProgress(feedback, count_blocks(grid.width, grid.height, block))
    with RasterWriter(output, grid, 1, np.uint8, NODATA,
                      [f"IBU built-up (RIBUD >= {threshold:g} %): 0 not built-up, 1 built-up, 255 nodata"],
                      color_table=styles.color_table("ibu"),
                      metadata={"THRESHOLD": f"{threshold:g}"}) as writer:
        for window in iter_blocks(grid.width, grid.height, block):
            values, valid = source.read(window)
            density = values[valid]
            if density.size and ((density < 0) | (density > 100)).any():
                raise ImperviousnessError(
                    f"RIBUD ({ribud}) holds {density.min():g}..{density.max():g}; expected densities "
                    "0..100 (percent) and 255 as nodata.")
            ibu = np.where(valid, values >= threshold, NODATA).astype(np.uint8)
            writer.write(window, ibu)
            progress.step()
    styles.write_style_beside(output, "ibu")
    return grid
