<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">
  <pipe>
    <provider>
      <resampling enabled="false" maxOversampling="2" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour"/>
    </provider>
    <rasterrenderer type="paletted" band="1" alphaBand="-1" opacity="1" nodataColor="">
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <colorPalette>
        <paletteEntry value="0" color="#f0f0f0" alpha="255" label="0 % flagged"/>
        <paletteEntry value="1" color="#efeeef" alpha="255" label="1 % flagged"/>
        <paletteEntry value="2" color="#eeebee" alpha="255" label="2 % flagged"/>
        <paletteEntry value="3" color="#ece9ec" alpha="255" label="3 % flagged"/>
        <paletteEntry value="4" color="#ebe6eb" alpha="255" label="4 % flagged"/>
        <paletteEntry value="5" color="#eae4ea" alpha="255" label="5 % flagged"/>
        <paletteEntry value="6" color="#e9e2e9" alpha="255" label="6 % flagged"/>
        <paletteEntry value="7" color="#e8dfe8" alpha="255" label="7 % flagged"/>
        <paletteEntry value="8" color="#e7dde6" alpha="255" label="8 % flagged"/>
        <paletteEntry value="9" color="#e5dae5" alpha="255" label="9 % flagged"/>
        <paletteEntry value="10" color="#e4d8e4" alpha="255" label="10 % flagged"/>
        <paletteEntry value="11" color="#e3d6e3" alpha="255" label="11 % flagged"/>
        <paletteEntry value="12" color="#e2d3e1" alpha="255" label="12 % flagged"/>
        <paletteEntry value="13" color="#e1d1e0" alpha="255" label="13 % flagged"/>
        <paletteEntry value="14" color="#dfcfdf" alpha="255" label="14 % flagged"/>
        <paletteEntry value="15" color="#deccde" alpha="255" label="15 % flagged"/>
        <paletteEntry value="16" color="#ddcadd" alpha="255" label="16 % flagged"/>
        <paletteEntry value="17" color="#dcc7db" alpha="255" label="17 % flagged"/>
        <paletteEntry value="18" color="#dbc5da" alpha="255" label="18 % flagged"/>
        <paletteEntry value="19" color="#dac3d9" alpha="255" label="19 % flagged"/>
        <paletteEntry value="20" color="#d8c0d8" alpha="255" label="20 % flagged"/>
        <paletteEntry value="21" color="#d7bed7" alpha="255" label="21 % flagged"/>
        <paletteEntry value="22" color="#d6bbd5" alpha="255" label="22 % flagged"/>
        <paletteEntry value="23" color="#d5b9d4" alpha="255" label="23 % flagged"/>
        <paletteEntry value="24" color="#d4b7d3" alpha="255" label="24 % flagged"/>
        <paletteEntry value="25" color="#d2b4d2" alpha="255" label="25 % flagged"/>
        <paletteEntry value="26" color="#d1b2d1" alpha="255" label="26 % flagged"/>
        <paletteEntry value="27" color="#d0afcf" alpha="255" label="27 % flagged"/>
        <paletteEntry value="28" color="#cfadce" alpha="255" label="28 % flagged"/>
        <paletteEntry value="29" color="#ceabcd" alpha="255" label="29 % flagged"/>
        <paletteEntry value="30" color="#cda8cc" alpha="255" label="30 % flagged"/>
        <paletteEntry value="31" color="#cba6ca" alpha="255" label="31 % flagged"/>
        <paletteEntry value="32" color="#caa4c9" alpha="255" label="32 % flagged"/>
        <paletteEntry value="33" color="#c9a1c8" alpha="255" label="33 % flagged"/>
        <paletteEntry value="34" color="#c89fc7" alpha="255" label="34 % flagged"/>
        <paletteEntry value="35" color="#c79cc6" alpha="255" label="35 % flagged"/>
        <paletteEntry value="36" color="#c69ac4" alpha="255" label="36 % flagged"/>
        <paletteEntry value="37" color="#c498c3" alpha="255" label="37 % flagged"/>
        <paletteEntry value="38" color="#c395c2" alpha="255" label="38 % flagged"/>
        <paletteEntry value="39" color="#c293c1" alpha="255" label="39 % flagged"/>
        <paletteEntry value="40" color="#c190c0" alpha="255" label="40 % flagged"/>
        <paletteEntry value="41" color="#c08ebe" alpha="255" label="41 % flagged"/>
        <paletteEntry value="42" color="#be8cbd" alpha="255" label="42 % flagged"/>
        <paletteEntry value="43" color="#bd89bc" alpha="255" label="43 % flagged"/>
        <paletteEntry value="44" color="#bc87bb" alpha="255" label="44 % flagged"/>
        <paletteEntry value="45" color="#bb84ba" alpha="255" label="45 % flagged"/>
        <paletteEntry value="46" color="#ba82b8" alpha="255" label="46 % flagged"/>
        <paletteEntry value="47" color="#b980b7" alpha="255" label="47 % flagged"/>
        <paletteEntry value="48" color="#b77db6" alpha="255" label="48 % flagged"/>
        <paletteEntry value="49" color="#b67bb5" alpha="255" label="49 % flagged"/>
        <paletteEntry value="50" color="#b578b4" alpha="255" label="50 % flagged"/>
        <paletteEntry value="51" color="#b476b2" alpha="255" label="51 % flagged"/>
        <paletteEntry value="52" color="#b374b1" alpha="255" label="52 % flagged"/>
        <paletteEntry value="53" color="#b171b0" alpha="255" label="53 % flagged"/>
        <paletteEntry value="54" color="#b06faf" alpha="255" label="54 % flagged"/>
        <paletteEntry value="55" color="#af6dad" alpha="255" label="55 % flagged"/>
        <paletteEntry value="56" color="#ae6aac" alpha="255" label="56 % flagged"/>
        <paletteEntry value="57" color="#ad68ab" alpha="255" label="57 % flagged"/>
        <paletteEntry value="58" color="#ac65aa" alpha="255" label="58 % flagged"/>
        <paletteEntry value="59" color="#aa63a9" alpha="255" label="59 % flagged"/>
        <paletteEntry value="60" color="#a961a7" alpha="255" label="60 % flagged"/>
        <paletteEntry value="61" color="#a85ea6" alpha="255" label="61 % flagged"/>
        <paletteEntry value="62" color="#a75ca5" alpha="255" label="62 % flagged"/>
        <paletteEntry value="63" color="#a659a4" alpha="255" label="63 % flagged"/>
        <paletteEntry value="64" color="#a457a3" alpha="255" label="64 % flagged"/>
        <paletteEntry value="65" color="#a355a1" alpha="255" label="65 % flagged"/>
        <paletteEntry value="66" color="#a252a0" alpha="255" label="66 % flagged"/>
        <paletteEntry value="67" color="#a1509f" alpha="255" label="67 % flagged"/>
        <paletteEntry value="68" color="#a04d9e" alpha="255" label="68 % flagged"/>
        <paletteEntry value="69" color="#9f4b9d" alpha="255" label="69 % flagged"/>
        <paletteEntry value="70" color="#9d499b" alpha="255" label="70 % flagged"/>
        <paletteEntry value="71" color="#9c469a" alpha="255" label="71 % flagged"/>
        <paletteEntry value="72" color="#9b4499" alpha="255" label="72 % flagged"/>
        <paletteEntry value="73" color="#9a4298" alpha="255" label="73 % flagged"/>
        <paletteEntry value="74" color="#993f96" alpha="255" label="74 % flagged"/>
        <paletteEntry value="75" color="#983d95" alpha="255" label="75 % flagged"/>
        <paletteEntry value="76" color="#963a94" alpha="255" label="76 % flagged"/>
        <paletteEntry value="77" color="#953893" alpha="255" label="77 % flagged"/>
        <paletteEntry value="78" color="#943692" alpha="255" label="78 % flagged"/>
        <paletteEntry value="79" color="#933390" alpha="255" label="79 % flagged"/>
        <paletteEntry value="80" color="#92318f" alpha="255" label="80 % flagged"/>
        <paletteEntry value="81" color="#902e8e" alpha="255" label="81 % flagged"/>
        <paletteEntry value="82" color="#8f2c8d" alpha="255" label="82 % flagged"/>
        <paletteEntry value="83" color="#8e2a8c" alpha="255" label="83 % flagged"/>
        <paletteEntry value="84" color="#8d278a" alpha="255" label="84 % flagged"/>
        <paletteEntry value="85" color="#8c2589" alpha="255" label="85 % flagged"/>
        <paletteEntry value="86" color="#8b2288" alpha="255" label="86 % flagged"/>
        <paletteEntry value="87" color="#892087" alpha="255" label="87 % flagged"/>
        <paletteEntry value="88" color="#881e86" alpha="255" label="88 % flagged"/>
        <paletteEntry value="89" color="#871b84" alpha="255" label="89 % flagged"/>
        <paletteEntry value="90" color="#861983" alpha="255" label="90 % flagged"/>
        <paletteEntry value="91" color="#851782" alpha="255" label="91 % flagged"/>
        <paletteEntry value="92" color="#831481" alpha="255" label="92 % flagged"/>
        <paletteEntry value="93" color="#82127f" alpha="255" label="93 % flagged"/>
        <paletteEntry value="94" color="#810f7e" alpha="255" label="94 % flagged"/>
        <paletteEntry value="95" color="#800d7d" alpha="255" label="95 % flagged"/>
        <paletteEntry value="96" color="#7f0b7c" alpha="255" label="96 % flagged"/>
        <paletteEntry value="97" color="#7e087b" alpha="255" label="97 % flagged"/>
        <paletteEntry value="98" color="#7c0679" alpha="255" label="98 % flagged"/>
        <paletteEntry value="99" color="#7b0378" alpha="255" label="99 % flagged"/>
        <paletteEntry value="100" color="#7a0177" alpha="255" label="100 % flagged"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
