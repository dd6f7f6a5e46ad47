//! PNG/SVG plots and sample grids.
