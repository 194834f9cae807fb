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
        <paletteEntry value="0" color="#f0f0f0" alpha="255" label="0 %"/>
        <paletteEntry value="1" color="#fbffd6" alpha="255" label="1 %"/>
        <paletteEntry value="2" color="#fbfecf" alpha="255" label="2 %"/>
        <paletteEntry value="3" color="#fbfdc7" alpha="255" label="3 %"/>
        <paletteEntry value="4" color="#fbfbc0" alpha="255" label="4 %"/>
        <paletteEntry value="5" color="#fcfab8" alpha="255" label="5 %"/>
        <paletteEntry value="6" color="#fcf9b1" alpha="255" label="6 %"/>
        <paletteEntry value="7" color="#fcf8aa" alpha="255" label="7 %"/>
        <paletteEntry value="8" color="#fcf7a2" alpha="255" label="8 %"/>
        <paletteEntry value="9" color="#fcf69b" alpha="255" label="9 %"/>
        <paletteEntry value="10" color="#fcf494" alpha="255" label="10 %"/>
        <paletteEntry value="11" color="#fcf38c" alpha="255" label="11 %"/>
        <paletteEntry value="12" color="#fdf285" alpha="255" label="12 %"/>
        <paletteEntry value="13" color="#fdf17d" alpha="255" label="13 %"/>
        <paletteEntry value="14" color="#fdf076" alpha="255" label="14 %"/>
        <paletteEntry value="15" color="#fdef6f" alpha="255" label="15 %"/>
        <paletteEntry value="16" color="#fded67" alpha="255" label="16 %"/>
        <paletteEntry value="17" color="#fdec60" alpha="255" label="17 %"/>
        <paletteEntry value="18" color="#fdeb59" alpha="255" label="18 %"/>
        <paletteEntry value="19" color="#fdea51" alpha="255" label="19 %"/>
        <paletteEntry value="20" color="#fee94a" alpha="255" label="20 %"/>
        <paletteEntry value="21" color="#fee842" alpha="255" label="21 %"/>
        <paletteEntry value="22" color="#fee63b" alpha="255" label="22 %"/>
        <paletteEntry value="23" color="#fee534" alpha="255" label="23 %"/>
        <paletteEntry value="24" color="#fee42c" alpha="255" label="24 %"/>
        <paletteEntry value="25" color="#fee325" alpha="255" label="25 %"/>
        <paletteEntry value="26" color="#fee21e" alpha="255" label="26 %"/>
        <paletteEntry value="27" color="#ffe116" alpha="255" label="27 %"/>
        <paletteEntry value="28" color="#ffdf0f" alpha="255" label="28 %"/>
        <paletteEntry value="29" color="#ffde07" alpha="255" label="29 %"/>
        <paletteEntry value="30" color="#ffdd00" alpha="255" label="30 %"/>
        <paletteEntry value="31" color="#ffdc00" alpha="255" label="31 %"/>
        <paletteEntry value="32" color="#ffdb00" alpha="255" label="32 %"/>
        <paletteEntry value="33" color="#ffda00" alpha="255" label="33 %"/>
        <paletteEntry value="34" color="#ffd900" alpha="255" label="34 %"/>
        <paletteEntry value="35" color="#ffd800" alpha="255" label="35 %"/>
        <paletteEntry value="36" color="#ffd700" alpha="255" label="36 %"/>
        <paletteEntry value="37" color="#ffd500" alpha="255" label="37 %"/>
        <paletteEntry value="38" color="#ffd400" alpha="255" label="38 %"/>
        <paletteEntry value="39" color="#ffd300" alpha="255" label="39 %"/>
        <paletteEntry value="40" color="#ffd200" alpha="255" label="40 %"/>
        <paletteEntry value="41" color="#ffd100" alpha="255" label="41 %"/>
        <paletteEntry value="42" color="#ffd000" alpha="255" label="42 %"/>
        <paletteEntry value="43" color="#ffcf00" alpha="255" label="43 %"/>
        <paletteEntry value="44" color="#ffce00" alpha="255" label="44 %"/>
        <paletteEntry value="45" color="#ffcd00" alpha="255" label="45 %"/>
        <paletteEntry value="46" color="#ffcc00" alpha="255" label="46 %"/>
        <paletteEntry value="47" color="#ffcb00" alpha="255" label="47 %"/>
        <paletteEntry value="48" color="#ffca00" alpha="255" label="48 %"/>
        <paletteEntry value="49" color="#ffc900" alpha="255" label="49 %"/>
        <paletteEntry value="50" color="#ffc800" alpha="255" label="50 %"/>
        <paletteEntry value="51" color="#ffc600" alpha="255" label="51 %"/>
        <paletteEntry value="52" color="#ffc500" alpha="255" label="52 %"/>
        <paletteEntry value="53" color="#ffc400" alpha="255" label="53 %"/>
        <paletteEntry value="54" color="#ffc300" alpha="255" label="54 %"/>
        <paletteEntry value="55" color="#ffc200" alpha="255" label="55 %"/>
        <paletteEntry value="56" color="#ffc100" alpha="255" label="56 %"/>
        <paletteEntry value="57" color="#ffc000" alpha="255" label="57 %"/>
        <paletteEntry value="58" color="#ffbf00" alpha="255" label="58 %"/>
        <paletteEntry value="59" color="#ffbe00" alpha="255" label="59 %"/>
        <paletteEntry value="60" color="#ffbd00" alpha="255" label="60 %"/>
        <paletteEntry value="61" color="#ffbc00" alpha="255" label="61 %"/>
        <paletteEntry value="62" color="#ffbb00" alpha="255" label="62 %"/>
        <paletteEntry value="63" color="#ffba00" alpha="255" label="63 %"/>
        <paletteEntry value="64" color="#ffb800" alpha="255" label="64 %"/>
        <paletteEntry value="65" color="#ffb700" alpha="255" label="65 %"/>
        <paletteEntry value="66" color="#ffb600" alpha="255" label="66 %"/>
        <paletteEntry value="67" color="#ffb500" alpha="255" label="67 %"/>
        <paletteEntry value="68" color="#ffb400" alpha="255" label="68 %"/>
        <paletteEntry value="69" color="#ffb300" alpha="255" label="69 %"/>
        <paletteEntry value="70" color="#ffb200" alpha="255" label="70 %"/>
        <paletteEntry value="71" color="#feb000" alpha="255" label="71 %"/>
        <paletteEntry value="72" color="#fdad00" alpha="255" label="72 %"/>
        <paletteEntry value="73" color="#fbab01" alpha="255" label="73 %"/>
        <paletteEntry value="74" color="#faa801" alpha="255" label="74 %"/>
        <paletteEntry value="75" color="#f9a601" alpha="255" label="75 %"/>
        <paletteEntry value="76" color="#f8a401" alpha="255" label="76 %"/>
        <paletteEntry value="77" color="#f7a101" alpha="255" label="77 %"/>
        <paletteEntry value="78" color="#f59f02" alpha="255" label="78 %"/>
        <paletteEntry value="79" color="#f49c02" alpha="255" label="79 %"/>
        <paletteEntry value="80" color="#f39a02" alpha="255" label="80 %"/>
        <paletteEntry value="81" color="#f29802" alpha="255" label="81 %"/>
        <paletteEntry value="82" color="#f19502" alpha="255" label="82 %"/>
        <paletteEntry value="83" color="#ef9303" alpha="255" label="83 %"/>
        <paletteEntry value="84" color="#ee9003" alpha="255" label="84 %"/>
        <paletteEntry value="85" color="#ed8e03" alpha="255" label="85 %"/>
        <paletteEntry value="86" color="#ec8c03" alpha="255" label="86 %"/>
        <paletteEntry value="87" color="#eb8903" alpha="255" label="87 %"/>
        <paletteEntry value="88" color="#e98704" alpha="255" label="88 %"/>
        <paletteEntry value="89" color="#e88404" alpha="255" label="89 %"/>
        <paletteEntry value="90" color="#e78204" alpha="255" label="90 %"/>
        <paletteEntry value="91" color="#e68004" alpha="255" label="91 %"/>
        <paletteEntry value="92" color="#e57d04" alpha="255" label="92 %"/>
        <paletteEntry value="93" color="#e37b05" alpha="255" label="93 %"/>
        <paletteEntry value="94" color="#e27805" alpha="255" label="94 %"/>
        <paletteEntry value="95" color="#e17605" alpha="255" label="95 %"/>
        <paletteEntry value="96" color="#e07405" alpha="255" label="96 %"/>
        <paletteEntry value="97" color="#df7105" alpha="255" label="97 %"/>
        <paletteEntry value="98" color="#dd6f06" alpha="255" label="98 %"/>
        <paletteEntry value="99" color="#dc6c06" alpha="255" label="99 %"/>
        <paletteEntry value="100" color="#db6a06" alpha="255" label="100 %"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
