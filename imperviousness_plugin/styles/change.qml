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
        <paletteEntry value="0" color="#005a32" alpha="255" label="-100 (decrease)"/>
        <paletteEntry value="1" color="#015c33" alpha="255" label="-99 (decrease)"/>
        <paletteEntry value="2" color="#035d34" alpha="255" label="-98 (decrease)"/>
        <paletteEntry value="3" color="#045f35" alpha="255" label="-97 (decrease)"/>
        <paletteEntry value="4" color="#056135" alpha="255" label="-96 (decrease)"/>
        <paletteEntry value="5" color="#076236" alpha="255" label="-95 (decrease)"/>
        <paletteEntry value="6" color="#086437" alpha="255" label="-94 (decrease)"/>
        <paletteEntry value="7" color="#096538" alpha="255" label="-93 (decrease)"/>
        <paletteEntry value="8" color="#0b6739" alpha="255" label="-92 (decrease)"/>
        <paletteEntry value="9" color="#0c693a" alpha="255" label="-91 (decrease)"/>
        <paletteEntry value="10" color="#0d6a3b" alpha="255" label="-90 (decrease)"/>
        <paletteEntry value="11" color="#0e6c3c" alpha="255" label="-89 (decrease)"/>
        <paletteEntry value="12" color="#106e3c" alpha="255" label="-88 (decrease)"/>
        <paletteEntry value="13" color="#116f3d" alpha="255" label="-87 (decrease)"/>
        <paletteEntry value="14" color="#12713e" alpha="255" label="-86 (decrease)"/>
        <paletteEntry value="15" color="#14733f" alpha="255" label="-85 (decrease)"/>
        <paletteEntry value="16" color="#157440" alpha="255" label="-84 (decrease)"/>
        <paletteEntry value="17" color="#167641" alpha="255" label="-83 (decrease)"/>
        <paletteEntry value="18" color="#187742" alpha="255" label="-82 (decrease)"/>
        <paletteEntry value="19" color="#197943" alpha="255" label="-81 (decrease)"/>
        <paletteEntry value="20" color="#1a7b43" alpha="255" label="-80 (decrease)"/>
        <paletteEntry value="21" color="#1c7c44" alpha="255" label="-79 (decrease)"/>
        <paletteEntry value="22" color="#1d7e45" alpha="255" label="-78 (decrease)"/>
        <paletteEntry value="23" color="#1e8046" alpha="255" label="-77 (decrease)"/>
        <paletteEntry value="24" color="#208147" alpha="255" label="-76 (decrease)"/>
        <paletteEntry value="25" color="#218348" alpha="255" label="-75 (decrease)"/>
        <paletteEntry value="26" color="#228549" alpha="255" label="-74 (decrease)"/>
        <paletteEntry value="27" color="#238649" alpha="255" label="-73 (decrease)"/>
        <paletteEntry value="28" color="#25884a" alpha="255" label="-72 (decrease)"/>
        <paletteEntry value="29" color="#26894b" alpha="255" label="-71 (decrease)"/>
        <paletteEntry value="30" color="#278b4c" alpha="255" label="-70 (decrease)"/>
        <paletteEntry value="31" color="#298d4d" alpha="255" label="-69 (decrease)"/>
        <paletteEntry value="32" color="#2a8e4e" alpha="255" label="-68 (decrease)"/>
        <paletteEntry value="33" color="#2b904f" alpha="255" label="-67 (decrease)"/>
        <paletteEntry value="34" color="#2d9250" alpha="255" label="-66 (decrease)"/>
        <paletteEntry value="35" color="#2e9350" alpha="255" label="-65 (decrease)"/>
        <paletteEntry value="36" color="#2f9551" alpha="255" label="-64 (decrease)"/>
        <paletteEntry value="37" color="#319752" alpha="255" label="-63 (decrease)"/>
        <paletteEntry value="38" color="#329853" alpha="255" label="-62 (decrease)"/>
        <paletteEntry value="39" color="#339a54" alpha="255" label="-61 (decrease)"/>
        <paletteEntry value="40" color="#359b55" alpha="255" label="-60 (decrease)"/>
        <paletteEntry value="41" color="#369d56" alpha="255" label="-59 (decrease)"/>
        <paletteEntry value="42" color="#379f56" alpha="255" label="-58 (decrease)"/>
        <paletteEntry value="43" color="#38a057" alpha="255" label="-57 (decrease)"/>
        <paletteEntry value="44" color="#3aa258" alpha="255" label="-56 (decrease)"/>
        <paletteEntry value="45" color="#3ba459" alpha="255" label="-55 (decrease)"/>
        <paletteEntry value="46" color="#3ca55a" alpha="255" label="-54 (decrease)"/>
        <paletteEntry value="47" color="#3ea75b" alpha="255" label="-53 (decrease)"/>
        <paletteEntry value="48" color="#3fa95c" alpha="255" label="-52 (decrease)"/>
        <paletteEntry value="49" color="#40aa5d" alpha="255" label="-51 (decrease)"/>
        <paletteEntry value="50" color="#43ac5e" alpha="255" label="-50 (decrease)"/>
        <paletteEntry value="51" color="#46ad61" alpha="255" label="-49 (decrease)"/>
        <paletteEntry value="52" color="#49af64" alpha="255" label="-48 (decrease)"/>
        <paletteEntry value="53" color="#4db066" alpha="255" label="-47 (decrease)"/>
        <paletteEntry value="54" color="#50b269" alpha="255" label="-46 (decrease)"/>
        <paletteEntry value="55" color="#53b36c" alpha="255" label="-45 (decrease)"/>
        <paletteEntry value="56" color="#57b56e" alpha="255" label="-44 (decrease)"/>
        <paletteEntry value="57" color="#5ab671" alpha="255" label="-43 (decrease)"/>
        <paletteEntry value="58" color="#5db873" alpha="255" label="-42 (decrease)"/>
        <paletteEntry value="59" color="#60b976" alpha="255" label="-41 (decrease)"/>
        <paletteEntry value="60" color="#64bb79" alpha="255" label="-40 (decrease)"/>
        <paletteEntry value="61" color="#67bc7b" alpha="255" label="-39 (decrease)"/>
        <paletteEntry value="62" color="#6abe7e" alpha="255" label="-38 (decrease)"/>
        <paletteEntry value="63" color="#6ebf81" alpha="255" label="-37 (decrease)"/>
        <paletteEntry value="64" color="#71c183" alpha="255" label="-36 (decrease)"/>
        <paletteEntry value="65" color="#74c286" alpha="255" label="-35 (decrease)"/>
        <paletteEntry value="66" color="#78c489" alpha="255" label="-34 (decrease)"/>
        <paletteEntry value="67" color="#7bc58b" alpha="255" label="-33 (decrease)"/>
        <paletteEntry value="68" color="#7ec78e" alpha="255" label="-32 (decrease)"/>
        <paletteEntry value="69" color="#82c891" alpha="255" label="-31 (decrease)"/>
        <paletteEntry value="70" color="#85ca93" alpha="255" label="-30 (decrease)"/>
        <paletteEntry value="71" color="#88cb96" alpha="255" label="-29 (decrease)"/>
        <paletteEntry value="72" color="#8ccd99" alpha="255" label="-28 (decrease)"/>
        <paletteEntry value="73" color="#8fce9b" alpha="255" label="-27 (decrease)"/>
        <paletteEntry value="74" color="#92d09e" alpha="255" label="-26 (decrease)"/>
        <paletteEntry value="75" color="#95d1a0" alpha="255" label="-25 (decrease)"/>
        <paletteEntry value="76" color="#99d3a3" alpha="255" label="-24 (decrease)"/>
        <paletteEntry value="77" color="#9cd4a6" alpha="255" label="-23 (decrease)"/>
        <paletteEntry value="78" color="#9fd6a8" alpha="255" label="-22 (decrease)"/>
        <paletteEntry value="79" color="#a3d7ab" alpha="255" label="-21 (decrease)"/>
        <paletteEntry value="80" color="#a6d9ae" alpha="255" label="-20 (decrease)"/>
        <paletteEntry value="81" color="#a9dab0" alpha="255" label="-19 (decrease)"/>
        <paletteEntry value="82" color="#addcb3" alpha="255" label="-18 (decrease)"/>
        <paletteEntry value="83" color="#b0ddb6" alpha="255" label="-17 (decrease)"/>
        <paletteEntry value="84" color="#b3dfb8" alpha="255" label="-16 (decrease)"/>
        <paletteEntry value="85" color="#b7e0bb" alpha="255" label="-15 (decrease)"/>
        <paletteEntry value="86" color="#bae2be" alpha="255" label="-14 (decrease)"/>
        <paletteEntry value="87" color="#bde3c0" alpha="255" label="-13 (decrease)"/>
        <paletteEntry value="88" color="#c1e5c3" alpha="255" label="-12 (decrease)"/>
        <paletteEntry value="89" color="#c4e6c6" alpha="255" label="-11 (decrease)"/>
        <paletteEntry value="90" color="#c7e8c8" alpha="255" label="-10 (decrease)"/>
        <paletteEntry value="91" color="#cae9cb" alpha="255" label="-9 (decrease)"/>
        <paletteEntry value="92" color="#ceebcd" alpha="255" label="-8 (decrease)"/>
        <paletteEntry value="93" color="#d1ecd0" alpha="255" label="-7 (decrease)"/>
        <paletteEntry value="94" color="#d4eed3" alpha="255" label="-6 (decrease)"/>
        <paletteEntry value="95" color="#d8efd5" alpha="255" label="-5 (decrease)"/>
        <paletteEntry value="96" color="#dbf1d8" alpha="255" label="-4 (decrease)"/>
        <paletteEntry value="97" color="#def2db" alpha="255" label="-3 (decrease)"/>
        <paletteEntry value="98" color="#e2f4dd" alpha="255" label="-2 (decrease)"/>
        <paletteEntry value="99" color="#e5f5e0" alpha="255" label="-1 (decrease)"/>
        <paletteEntry value="100" color="#ffffd9" alpha="255" label="0 (no change)"/>
        <paletteEntry value="101" color="#fee0d2" alpha="255" label="+1 (increase)"/>
        <paletteEntry value="102" color="#feddcf" alpha="255" label="+2 (increase)"/>
        <paletteEntry value="103" color="#fdd9cb" alpha="255" label="+3 (increase)"/>
        <paletteEntry value="104" color="#fdd6c8" alpha="255" label="+4 (increase)"/>
        <paletteEntry value="105" color="#fdd3c5" alpha="255" label="+5 (increase)"/>
        <paletteEntry value="106" color="#fccfc1" alpha="255" label="+6 (increase)"/>
        <paletteEntry value="107" color="#fcccbe" alpha="255" label="+7 (increase)"/>
        <paletteEntry value="108" color="#fcc9bb" alpha="255" label="+8 (increase)"/>
        <paletteEntry value="109" color="#fcc5b7" alpha="255" label="+9 (increase)"/>
        <paletteEntry value="110" color="#fbc2b4" alpha="255" label="+10 (increase)"/>
        <paletteEntry value="111" color="#fbbfb0" alpha="255" label="+11 (increase)"/>
        <paletteEntry value="112" color="#fbbbad" alpha="255" label="+12 (increase)"/>
        <paletteEntry value="113" color="#fab8aa" alpha="255" label="+13 (increase)"/>
        <paletteEntry value="114" color="#fab5a6" alpha="255" label="+14 (increase)"/>
        <paletteEntry value="115" color="#fab1a3" alpha="255" label="+15 (increase)"/>
        <paletteEntry value="116" color="#f9aea0" alpha="255" label="+16 (increase)"/>
        <paletteEntry value="117" color="#f9ab9c" alpha="255" label="+17 (increase)"/>
        <paletteEntry value="118" color="#f9a799" alpha="255" label="+18 (increase)"/>
        <paletteEntry value="119" color="#f9a496" alpha="255" label="+19 (increase)"/>
        <paletteEntry value="120" color="#f8a192" alpha="255" label="+20 (increase)"/>
        <paletteEntry value="121" color="#f89d8f" alpha="255" label="+21 (increase)"/>
        <paletteEntry value="122" color="#f89a8c" alpha="255" label="+22 (increase)"/>
        <paletteEntry value="123" color="#f79788" alpha="255" label="+23 (increase)"/>
        <paletteEntry value="124" color="#f79385" alpha="255" label="+24 (increase)"/>
        <paletteEntry value="125" color="#f79082" alpha="255" label="+25 (increase)"/>
        <paletteEntry value="126" color="#f68d7e" alpha="255" label="+26 (increase)"/>
        <paletteEntry value="127" color="#f6897b" alpha="255" label="+27 (increase)"/>
        <paletteEntry value="128" color="#f68677" alpha="255" label="+28 (increase)"/>
        <paletteEntry value="129" color="#f68374" alpha="255" label="+29 (increase)"/>
        <paletteEntry value="130" color="#f57f71" alpha="255" label="+30 (increase)"/>
        <paletteEntry value="131" color="#f57c6d" alpha="255" label="+31 (increase)"/>
        <paletteEntry value="132" color="#f5796a" alpha="255" label="+32 (increase)"/>
        <paletteEntry value="133" color="#f47567" alpha="255" label="+33 (increase)"/>
        <paletteEntry value="134" color="#f47263" alpha="255" label="+34 (increase)"/>
        <paletteEntry value="135" color="#f46f60" alpha="255" label="+35 (increase)"/>
        <paletteEntry value="136" color="#f36b5d" alpha="255" label="+36 (increase)"/>
        <paletteEntry value="137" color="#f36859" alpha="255" label="+37 (increase)"/>
        <paletteEntry value="138" color="#f36556" alpha="255" label="+38 (increase)"/>
        <paletteEntry value="139" color="#f26153" alpha="255" label="+39 (increase)"/>
        <paletteEntry value="140" color="#f25e4f" alpha="255" label="+40 (increase)"/>
        <paletteEntry value="141" color="#f25b4c" alpha="255" label="+41 (increase)"/>
        <paletteEntry value="142" color="#f25749" alpha="255" label="+42 (increase)"/>
        <paletteEntry value="143" color="#f15445" alpha="255" label="+43 (increase)"/>
        <paletteEntry value="144" color="#f15142" alpha="255" label="+44 (increase)"/>
        <paletteEntry value="145" color="#f14d3e" alpha="255" label="+45 (increase)"/>
        <paletteEntry value="146" color="#f04a3b" alpha="255" label="+46 (increase)"/>
        <paletteEntry value="147" color="#f04738" alpha="255" label="+47 (increase)"/>
        <paletteEntry value="148" color="#f04334" alpha="255" label="+48 (increase)"/>
        <paletteEntry value="149" color="#ef4031" alpha="255" label="+49 (increase)"/>
        <paletteEntry value="150" color="#ef3d2e" alpha="255" label="+50 (increase)"/>
        <paletteEntry value="151" color="#ee3a2c" alpha="255" label="+51 (increase)"/>
        <paletteEntry value="152" color="#eb392b" alpha="255" label="+52 (increase)"/>
        <paletteEntry value="153" color="#e8382a" alpha="255" label="+53 (increase)"/>
        <paletteEntry value="154" color="#e5372a" alpha="255" label="+54 (increase)"/>
        <paletteEntry value="155" color="#e33629" alpha="255" label="+55 (increase)"/>
        <paletteEntry value="156" color="#e03429" alpha="255" label="+56 (increase)"/>
        <paletteEntry value="157" color="#dd3328" alpha="255" label="+57 (increase)"/>
        <paletteEntry value="158" color="#da3227" alpha="255" label="+58 (increase)"/>
        <paletteEntry value="159" color="#d83127" alpha="255" label="+59 (increase)"/>
        <paletteEntry value="160" color="#d53026" alpha="255" label="+60 (increase)"/>
        <paletteEntry value="161" color="#d22e25" alpha="255" label="+61 (increase)"/>
        <paletteEntry value="162" color="#cf2d25" alpha="255" label="+62 (increase)"/>
        <paletteEntry value="163" color="#cd2c24" alpha="255" label="+63 (increase)"/>
        <paletteEntry value="164" color="#ca2b24" alpha="255" label="+64 (increase)"/>
        <paletteEntry value="165" color="#c72a23" alpha="255" label="+65 (increase)"/>
        <paletteEntry value="166" color="#c42922" alpha="255" label="+66 (increase)"/>
        <paletteEntry value="167" color="#c22722" alpha="255" label="+67 (increase)"/>
        <paletteEntry value="168" color="#bf2621" alpha="255" label="+68 (increase)"/>
        <paletteEntry value="169" color="#bc2520" alpha="255" label="+69 (increase)"/>
        <paletteEntry value="170" color="#b92420" alpha="255" label="+70 (increase)"/>
        <paletteEntry value="171" color="#b7231f" alpha="255" label="+71 (increase)"/>
        <paletteEntry value="172" color="#b4211f" alpha="255" label="+72 (increase)"/>
        <paletteEntry value="173" color="#b1201e" alpha="255" label="+73 (increase)"/>
        <paletteEntry value="174" color="#ae1f1d" alpha="255" label="+74 (increase)"/>
        <paletteEntry value="175" color="#ac1e1d" alpha="255" label="+75 (increase)"/>
        <paletteEntry value="176" color="#a91d1c" alpha="255" label="+76 (increase)"/>
        <paletteEntry value="177" color="#a61b1b" alpha="255" label="+77 (increase)"/>
        <paletteEntry value="178" color="#a31a1b" alpha="255" label="+78 (increase)"/>
        <paletteEntry value="179" color="#a1191a" alpha="255" label="+79 (increase)"/>
        <paletteEntry value="180" color="#9e181a" alpha="255" label="+80 (increase)"/>
        <paletteEntry value="181" color="#9b1719" alpha="255" label="+81 (increase)"/>
        <paletteEntry value="182" color="#981518" alpha="255" label="+82 (increase)"/>
        <paletteEntry value="183" color="#961418" alpha="255" label="+83 (increase)"/>
        <paletteEntry value="184" color="#931317" alpha="255" label="+84 (increase)"/>
        <paletteEntry value="185" color="#901216" alpha="255" label="+85 (increase)"/>
        <paletteEntry value="186" color="#8d1116" alpha="255" label="+86 (increase)"/>
        <paletteEntry value="187" color="#8b0f15" alpha="255" label="+87 (increase)"/>
        <paletteEntry value="188" color="#880e15" alpha="255" label="+88 (increase)"/>
        <paletteEntry value="189" color="#850d14" alpha="255" label="+89 (increase)"/>
        <paletteEntry value="190" color="#820c13" alpha="255" label="+90 (increase)"/>
        <paletteEntry value="191" color="#800b13" alpha="255" label="+91 (increase)"/>
        <paletteEntry value="192" color="#7d0a12" alpha="255" label="+92 (increase)"/>
        <paletteEntry value="193" color="#7a0811" alpha="255" label="+93 (increase)"/>
        <paletteEntry value="194" color="#770711" alpha="255" label="+94 (increase)"/>
        <paletteEntry value="195" color="#750610" alpha="255" label="+95 (increase)"/>
        <paletteEntry value="196" color="#720510" alpha="255" label="+96 (increase)"/>
        <paletteEntry value="197" color="#6f040f" alpha="255" label="+97 (increase)"/>
        <paletteEntry value="198" color="#6c020e" alpha="255" label="+98 (increase)"/>
        <paletteEntry value="199" color="#6a010e" alpha="255" label="+99 (increase)"/>
        <paletteEntry value="200" color="#67000d" alpha="255" label="+100 (increase)"/>
        <paletteEntry value="201" color="#f0f0f0" alpha="255" label="zero in both years"/>
      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
